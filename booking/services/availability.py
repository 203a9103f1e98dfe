"""Availability queries: free terminals for a slot, free lessons of a terminal or a site
over a date range (in the school's local time and in UTC), free clock intervals.

Each answer costs a fixed number of queries whatever the number of terminals or days:
one for the terminals in scope, one for the busy rows over the whole range."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from booking import availability
from booking.access import Action, Principal, authorize
from booking.availability import FreeInterval, FreeLesson
from booking.bells import LessonSlot, day_lessons, local_to_utc
from booking.errors import InvalidInput
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Terminal
from booking.schoolyear import day_off
from booking.services.lookups import Lookups
from booking.services.plans import check_aware
from booking.services.policy import Policy

__all__ = ["FreeInterval", "FreeLesson", "free_intervals", "free_lessons", "free_terminals"]


def free_terminals(
    uow: UnitOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    org_id: str | None = None,
    setup_minutes: int | None = None,
    policy: Policy | None = None,
) -> list[Terminal]:
    """Active terminals in the subtree of `org_id` (default: the caller's organisation) with
    no reservation overlapping [start − set-up, end); the set-up is the policy's default, as
    for a booking, unless given. Two queries, whatever the count."""
    policy = policy or Policy()
    setup = policy.default_setup_minutes if setup_minutes is None else setup_minutes
    check_aware(start, "start")
    check_aware(end, "end")
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    if end - start > timedelta(hours=policy.max_session_hours):
        raise InvalidInput(f"a slot may last at most {policy.max_session_hours} hours", field="end")
    with uow:
        scope = Lookups(uow).org(org_id or principal.org_id)
        authorize(principal, Action.READ, [scope])
        terminals = uow.terminals.in_subtree(scope.path, active_only=True)
        busy = uow.occurrences.busy_terminal_ids(availability.setup_start(start, setup), end)
        return availability.free_terminals(terminals, busy)


def check_range(start_date: date, end_date: date, policy: Policy) -> list[date]:
    """The dates of [start_date, end_date], refused when reversed or longer than allowed."""
    if end_date < start_date:
        raise InvalidInput("the range ends before it starts", field="end_date")
    count = (end_date - start_date).days + 1
    if count > policy.max_range_days:
        raise InvalidInput(
            f"the range spans {count} days, more than the allowed {policy.max_range_days}",
            field="end_date",
            max_days=policy.max_range_days,
        )
    return [start_date + timedelta(days=i) for i in range(count)]


def _site_and_terminals(
    lookups: Lookups, principal: Principal, site_id: str | None, terminal_id: str | None
) -> tuple[Organisation, list[Terminal]]:
    if (site_id is None) == (terminal_id is None):
        raise InvalidInput("give a site or a terminal", field="site_id")
    if terminal_id is not None:
        terminal = lookups.terminals([terminal_id])[terminal_id]
        site = lookups.org(terminal.site_id)
        terminals = [terminal] if terminal.active else []
    else:
        assert site_id is not None
        site = lookups.org(site_id)
        terminals = [t for t in lookups.uow.terminals.at_sites([site.id]) if t.active]
    authorize(principal, Action.READ, [site])
    return site, terminals


def free_lessons(
    uow: UnitOfWork,
    principal: Principal,
    *,
    start_date: date,
    end_date: date,
    site_id: str | None = None,
    terminal_id: str | None = None,
    now: datetime | None = None,
    setup_minutes: int | None = None,
    policy: Policy | None = None,
) -> list[FreeLesson]:
    """The lessons (by the school's bells) on the study days of [start_date, end_date] for
    which at least one terminal of the site (or the given terminal) is free, with the free
    terminals, in local time and UTC. Days outside every academic year, holidays and
    closures have no lessons; lessons already begun at `now` are left out."""
    policy = policy or Policy()
    setup = policy.default_setup_minutes if setup_minutes is None else setup_minutes
    if now is not None:
        check_aware(now, "now")
    days = check_range(start_date, end_date, policy)
    with uow:
        lookups = Lookups(uow)
        site, terminals = _site_and_terminals(lookups, principal, site_id, terminal_id)
        if site.kind != OrgKind.SCHOOL:
            raise InvalidInput(f"{site.name} is not a school: it has no lessons", field="site_id")
        bells = lookups.bells_of(site)
        if bells is None:
            raise InvalidInput(f"{site.name} has no bell schedule", field="site_id")
        if not terminals:
            return []
        lessons: list[LessonSlot] = []
        for day in days:
            year = lookups.year_covering(day)
            if year is None:
                continue
            closures = lookups.closures([site], year.start, year.end)
            if day_off(day, year, closures, lookups.study_days([site])) is not None:
                continue
            lessons += day_lessons(bells, site.zone, day, shortened=year.is_shortened(day))
        if not lessons:
            return []
        span = (lessons[0].start - timedelta(minutes=setup), lessons[-1].end)
        ids = [t.id for t in terminals]
        reservations = uow.occurrences.reservations_overlapping(ids, [span])
        return availability.free_lessons(
            lessons, ids, reservations, setup_minutes=setup, not_before=now
        )


def free_intervals(
    uow: UnitOfWork,
    principal: Principal,
    terminal_id: str,
    *,
    start_date: date,
    end_date: date,
    day_start: time = time(8, 0),
    day_end: time = time(18, 0),
    min_minutes: int = 0,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> list[FreeInterval]:
    """Free stretches of one terminal between `day_start` and `day_end` (the site's local
    time) on each day of the range, whatever the bells say — for events and the RCC."""
    policy = policy or Policy()
    if day_end <= day_start:
        raise InvalidInput("the day window ends before it starts", field="day_end")
    days = check_range(start_date, end_date, policy)
    with uow:
        lookups = Lookups(uow)
        site, terminals = _site_and_terminals(lookups, principal, None, terminal_id)
        if not terminals:
            return []
        zone = site.zone
        span = (local_to_utc(days[0], day_start, zone), local_to_utc(days[-1], day_end, zone))
        reservations = uow.occurrences.reservations_overlapping([terminal_id], [span])
        return availability.free_intervals(
            terminal_id,
            days,
            zone,
            reservations,
            day_start=day_start,
            day_end=day_end,
            min_minutes=min_minutes,
            not_before=now.astimezone(UTC) if now else None,
        )
