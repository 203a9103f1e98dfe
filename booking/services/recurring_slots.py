"""Recurring-slot search: "which terminals of a school, a network or the region are free
every Tuesday at the 3rd lesson through quarter 3" in one call.

The terminals of the subtree and its schools grouped by calendar (bells, zone, study week)
are the process's reference copies (ADR 0006); each calendar's dates are expanded once;
then ONE query finds the busy terminals over every date (`held_during`: on PostgreSQL, for
a municipality or the region, the windows of the occurrences' covering time index — only
the busy terminals and their clashing ranges come back; SQLite and small sets read the
reservations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta

from booking import recurring_slots
from booking.access import Action, Principal, authorize
from booking.bells import LessonSlot
from booking.bookings import Recurrence
from booking.errors import InvalidInput
from booking.organisations import CalendarKey, Organisation, calendar_groups
from booking.recurrence import expand, validate
from booking.recurring_slots import RecurringAnswer, RecurringFit
from booking.repository import TimeRange, UnitOfWork
from booking.services.lookups import Lookups
from booking.services.policy import Policy

__all__ = [
    "RecurringAnswer",
    "RecurringFit",
    "calendar_slots",
    "recurring_free_terminals",
    "site_slots",
]


def site_slots(
    lookups: Lookups,
    sites: list[Organisation],
    recurrence: Recurrence,
    policy: Policy,
) -> dict[str, list[LessonSlot]]:
    """Each school's dated slots of the weekly lesson (its own bells, zone, holidays,
    closures and study week); a school without bells (or the lesson) has none."""
    above = lookups.orgs({i for site in sites for i in site.path.split("/")[:-1]})
    return calendar_slots(lookups, calendar_groups(sites, above), recurrence, policy)


def calendar_slots(
    lookups: Lookups,
    groups: Mapping[CalendarKey, Sequence[Organisation]],
    recurrence: Recurrence,
    policy: Policy,
) -> dict[str, list[LessonSlot]]:
    """As `site_slots`, for schools already grouped by calendar: one expansion per group;
    the schools of a group share its list of slots unless a closure touches them."""
    year = lookups.year_for(recurrence.starts_on)
    ids = {site.id for members in groups.values() for site in members}
    for members in groups.values():
        if members:
            ids.update(members[0].path.split("/"))  # (what lies above the subtree)
    closures = list(lookups.uow.closures.for_orgs(ids, year.start, year.end))
    closed = {c.org_id for c in closures}
    out: dict[str, list[LessonSlot]] = {}
    for (_, _, study_days), members in groups.items():
        lessons_unknown = recurrence.lesson_number is not None and not members[0].bell_schedule_id
        if lessons_unknown:
            continue
        try:
            slots = expand(
                recurrence,
                zone=members[0].zone,
                year=year,
                bells=lookups.bells_of(members[0]),
                study_days=study_days,
                max_days=policy.max_range_days,
            ).slots
        except InvalidInput:
            if recurrence.lesson_number is None:
                raise
            continue  # these bells have no such lesson
        for site in members:
            path = site.path.split("/") if closed else ()
            if closed and not closed.isdisjoint(path):
                mine = [c for c in closures if c.org_id in path]
                out[site.id] = [s for s in slots if not any(c.covers(s.local_date) for c in mine)]
            else:
                out[site.id] = slots
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
        slots = calendar_slots(lookups, uow.organisations.calendars(scope.path), recurrence, policy)
        ranges = _distinct_ranges(slots, setup)
        if not ranges:
            return RecurringAnswer([], [])
        held = uow.occurrences.held_during([t.id for t in terminals], ranges, within=scope.path)
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
    lists = {id(found): found for found in slots.values()}.values()  # schools share lists
    return sorted({(s.start - before, s.end) for found in lists for s in found})
