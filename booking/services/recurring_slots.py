"""Recurring-slot search: "which terminals of a school, a network or the region are free
every Tuesday at the 3rd lesson through quarter 3" in one call.

The cost is fixed whatever the number of terminals and dates: one query for the terminals
of the subtree, one for their sites, one per bell schedule, one for the closures and ONE
for the busy rows of every terminal over every date (`reservations_overlapping` with all
the ranges at once). Sites sharing bells, zone and study week share one expansion."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time, timedelta

from booking import recurring_slots
from booking.access import Action, Principal, authorize
from booking.bells import LessonSlot
from booking.bookings import Recurrence
from booking.errors import InvalidInput
from booking.organisations import Organisation, study_days_of
from booking.recurrence import expand, validate
from booking.recurring_slots import RecurringAnswer, RecurringFit
from booking.repository import TimeRange, UnitOfWork
from booking.services.lookups import Lookups
from booking.services.policy import Policy

__all__ = ["RecurringAnswer", "RecurringFit", "recurring_free_terminals", "site_slots"]


def site_slots(
    lookups: Lookups,
    sites: list[Organisation],
    recurrence: Recurrence,
    policy: Policy,
) -> dict[str, list[LessonSlot]]:
    """Each school's dated slots of the weekly lesson (its own bells, zone, holidays,
    closures and study week); a school without bells (or the lesson) has none."""
    year = lookups.year_for(recurrence.starts_on)
    closures = lookups.closures(sites, year.start, year.end)
    above = lookups.orgs({i for site in sites for i in site.path.split("/")[:-1]})
    groups: dict[tuple[str, str, int], list[Organisation]] = defaultdict(list)
    for site in sites:
        if recurrence.lesson_number is not None and site.bell_schedule_id is None:
            continue
        key = (site.bell_schedule_id or "", site.time_zone, study_days_of(site, above))
        groups[key].append(site)
    out: dict[str, list[LessonSlot]] = {}
    for (_, _, study_days), members in groups.items():
        bells = lookups.bells_of(members[0])
        try:
            slots = expand(
                recurrence,
                zone=members[0].zone,
                year=year,
                bells=bells,
                study_days=study_days,
                max_days=policy.max_range_days,
            ).slots
        except InvalidInput:
            if recurrence.lesson_number is None:
                raise
            continue  # these bells have no such lesson
        for site in members:
            ids = set(site.path.split("/"))
            mine = [c for c in closures if c.org_id in ids]
            out[site.id] = (
                [s for s in slots if not any(c.covers(s.local_date) for c in mine)]
                if mine
                else slots
            )
    return out


def recurring_free_terminals(
    uow: UnitOfWork,
    principal: Principal,
    *,
    weekday: int,
    start_date: date,
    end_date: date,
    lesson_number: int | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
    org_id: str | None = None,
    min_share: float = 0.5,
    setup_minutes: int | None = None,
    policy: Policy | None = None,
) -> RecurringAnswer:
    """The active terminals in the subtree of `org_id` (default: the caller's organisation)
    free for the weekly lesson on every study date of [start_date, end_date], and those free
    on at least `min_share` of them with the dates that clash."""
    policy = policy or Policy()
    setup = policy.default_setup_minutes if setup_minutes is None else setup_minutes
    if (lesson_number is None) == (start_time is None or end_time is None):
        raise InvalidInput(
            "give the lesson number or the start and end time", field="lesson_number"
        )
    if not 0 < min_share <= 1:
        raise InvalidInput("min_share is a share of the dates, in (0, 1]", field="min_share")
    recurrence = Recurrence(
        weekdays=[weekday],
        starts_on=start_date,
        ends_on=end_date,
        lesson_number=lesson_number,
        start_time=start_time,
        end_time=end_time,
    )
    validate(recurrence, max_days=policy.max_range_days)
    with uow:
        lookups = Lookups(uow)
        scope = lookups.org(org_id or principal.org_id)
        authorize(principal, Action.READ, [scope])
        terminals = uow.terminals.in_subtree(scope.path, active_only=True)
        if not terminals:
            return RecurringAnswer([], [])
        sites = list(lookups.orgs({t.site_id for t in terminals}).values())
        slots = site_slots(lookups, sites, recurrence, policy)
        ranges = _distinct_ranges(slots, setup)
        if not ranges:
            return RecurringAnswer([], [])
        held = uow.occurrences.held_during([t.id for t in terminals], ranges)
        return recurring_slots.recurring_fit_held(
            terminals,
            slots,
            held,
            {r: i for i, r in enumerate(ranges)},
            setup_minutes=setup,
            min_share=min_share,
        )


def _distinct_ranges(slots: dict[str, list[LessonSlot]], setup: int) -> list[TimeRange]:
    """The distinct busy ranges of every site's slots, set-up included (schools sharing a
    zone and bells share them: a few dozen ranges for the whole region)."""
    before = timedelta(minutes=setup)
    return sorted({(s.start - before, s.end) for site in slots.values() for s in site})
