"""Reads: one booking or occurrence, pages of bookings and sessions, one terminal's,
school's or teacher's sessions and the calendar feeds' — each within the caller's scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.access import Action, Principal, authorize, scope_of, visible
from booking.bookings import Booking, Occurrence
from booking.errors import Forbidden, InvalidInput, NotFound
from booking.organisations import Organisation, OrgKind
from booking.paging import Page, check_page
from booking.repository import UnitOfWork
from booking.services.changes import booking_orgs, load_booking
from booking.services.lookups import Lookups
from booking.services.plans import check_aware
from booking.services.policy import Policy


def _ensure_visible(lookups: Lookups, principal: Principal, booking: Booking) -> None:
    authorize(principal, Action.READ)
    if not any(visible(principal, org) for org in booking_orgs(lookups, booking)):
        raise Forbidden(
            f"booking {booking.id} is outside the scope of this {principal.role}",
            booking_id=booking.id,
        )


def get_booking(uow: UnitOfWork, principal: Principal, booking_id: str) -> Booking:
    """A booking visible to the caller: its owner, host or a participant is in their scope."""
    with uow:
        booking = load_booking(uow, booking_id)
        _ensure_visible(Lookups(uow), principal, booking)
        return booking


def occurrences_of(uow: UnitOfWork, principal: Principal, booking_id: str) -> list[Occurrence]:
    with uow:
        booking = load_booking(uow, booking_id)
        _ensure_visible(Lookups(uow), principal, booking)
        return list(uow.occurrences.of_booking(booking_id))


def get_occurrence(uow: UnitOfWork, principal: Principal, occurrence_id: str) -> Occurrence:
    with uow:
        occurrence = uow.occurrences.get(occurrence_id)
        if occurrence is None:
            raise NotFound(f"unknown occurrence {occurrence_id}", occurrence_id=occurrence_id)
        _ensure_visible(Lookups(uow), principal, load_booking(uow, occurrence.booking_id))
        return occurrence


def _check_range(start: datetime, end: datetime, max_days: int) -> None:
    check_aware(start, "start")
    check_aware(end, "end")
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    if end - start > timedelta(days=max_days):
        raise InvalidInput(
            f"the range spans more than {max_days} days", field="end", max_days=max_days
        )


def list_bookings(
    uow: UnitOfWork,
    principal: Principal,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
    policy: Policy | None = None,
) -> list[Booking]:
    """Bookings owned inside the caller's subtree, optionally with an occurrence in
    [start, end); ordered by id, paginated."""
    found = bookings_page(
        uow, principal, start=start, end=end, offset=offset, limit=limit, policy=policy
    )
    return list(found.items)


def bookings_page(
    uow: UnitOfWork,
    principal: Principal,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
    policy: Policy | None = None,
) -> Page[Booking]:
    """One page of `list_bookings` and how many bookings there are in all (one count)."""
    policy = policy or Policy()
    authorize(principal, Action.READ)
    if start is not None and end is not None:
        _check_range(start, end, policy.max_range_days)
    check_page(offset, limit)
    org_path = scope_of(principal)
    with uow:
        return Page(
            items=list(
                uow.bookings.search(
                    org_path=org_path, start=start, end=end, offset=offset, limit=limit
                )
            ),
            total=uow.bookings.count(org_path=org_path, start=start, end=end),
        )


@dataclass(frozen=True)
class Session:
    """An occurrence with its booking: what a calendar feed or a day view shows."""

    occurrence: Occurrence
    booking: Booking

    @property
    def teacher(self) -> str:
        return self.occurrence.teacher or self.booking.teacher


def sessions_page(
    uow: UnitOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    include_cancelled: bool = False,
    offset: int = 0,
    limit: int = 100,
    policy: Policy | None = None,
) -> Page[Session]:
    """One page of `sessions_between` and how many there are in all. One terminal's, one
    school's or one teacher's sessions are few and read whole; everything the caller may
    see is paged and counted by storage (a region has a million occurrences a year)."""
    check_page(offset, limit)
    if terminal_id is not None or school_id is not None or teacher is not None:
        found = sessions_between(
            uow, principal, start, end, terminal_id=terminal_id, school_id=school_id,
            teacher=teacher, include_cancelled=include_cancelled, policy=policy,
        )  # fmt: skip
        return Page(items=found[offset : offset + limit], total=len(found))
    policy = policy or Policy()
    _check_range(start, end, policy.max_range_days)
    authorize(principal, Action.READ)
    org_path = scope_of(principal)
    with uow:
        occurrences = uow.occurrences.visible(
            start, end, org_path=org_path, include_cancelled=include_cancelled,
            offset=offset, limit=limit,
        )  # fmt: skip
        total = uow.occurrences.count_visible(
            start, end, org_path=org_path, include_cancelled=include_cancelled
        )
        bookings = uow.bookings.get_many({o.booking_id for o in occurrences})
        items = [
            Session(o, bookings[o.booking_id]) for o in occurrences if o.booking_id in bookings
        ]
        return Page(items=items, total=total)


# a feed's range is widened by a day before and two after (whole local days in every zone)
FIRST_FEED_DATE = date.min + timedelta(days=1)
LAST_FEED_DATE = date.max - timedelta(days=2)


def calendar_sessions(
    uow: UnitOfWork,
    principal: Principal,
    first: date,
    last: date,
    *,
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    policy: Policy | None = None,
) -> list[Session]:
    """A calendar feed's sessions: those of `sessions_between` (cancelled too) whose local
    date lies in [first, last] — exactly the lessons of the range, in every time zone."""
    for name, value in (("from", first), ("to", last)):
        if not FIRST_FEED_DATE <= value <= LAST_FEED_DATE:
            raise InvalidInput(
                f"{name} must lie between {FIRST_FEED_DATE} and {LAST_FEED_DATE}, got {value}",
                field=name,
            )
    if last < first:
        raise InvalidInput(f"to ({last}) is before from ({first})", field="to")
    start = datetime.combine(first - timedelta(days=1), time(), UTC)
    end = datetime.combine(last + timedelta(days=2), time(), UTC)
    sessions = sessions_between(
        uow, principal, start, end, terminal_id=terminal_id, school_id=school_id,
        teacher=teacher, include_cancelled=True, policy=policy,
    )  # fmt: skip
    return [s for s in sessions if first <= s.occurrence.local_date <= last]


def sessions_between(
    uow: UnitOfWork,
    principal: Principal,
    start: datetime,
    end: datetime,
    *,
    terminal_id: str | None = None,
    school_id: str | None = None,
    teacher: str | None = None,
    include_cancelled: bool = False,
    policy: Policy | None = None,
) -> list[Session]:
    """Occurrences in [start, end) for one terminal, one school (its terminals, and the
    sessions it hosts or joins) or one teacher (including substitutions), ordered by start.
    `school_id` may name any organisation: a network, a municipality or the region stands
    for every school of its subtree. Feeds (iCalendar) and day views are built on this."""
    policy = policy or Policy()
    _check_range(start, end, policy.max_range_days)
    authorize(principal, Action.READ)
    with uow:
        lookups = Lookups(uow)
        terminal_ids: list[str] | None = None
        school_ids: set[str] | None = None
        if terminal_id is not None:
            terminal = lookups.terminals([terminal_id])[terminal_id]
            site = lookups.org(terminal.site_id)
            authorize(principal, Action.READ, [site])
            terminal_ids = [terminal_id]
        elif school_id is not None:
            org = lookups.org(school_id)
            authorize(principal, Action.READ, [org])
            school_ids = {school_id}
            if org.kind != OrgKind.SCHOOL:
                school_ids = {
                    o.id for o in uow.organisations.subtree(org.path) if o.kind == OrgKind.SCHOOL
                }
        repository = uow.occurrences
        if terminal_ids is not None:
            found = repository.between(start, end, terminal_ids=terminal_ids)
        elif school_ids is not None:
            found = repository.of_schools(sorted(school_ids), start, end)
        elif teacher is not None:
            found = repository.of_teacher(teacher, start, end)
        else:
            found = repository.between(start, end)
        occurrences = [o for o in found if include_cancelled or not o.cancelled]
        bookings = uow.bookings.get_many({o.booking_id for o in occurrences})
        sessions = []
        for occurrence in occurrences:
            if occurrence.booking_id not in bookings:
                continue
            booking = bookings[occurrence.booking_id]
            session = Session(occurrence, booking)
            if school_ids is not None and school_ids.isdisjoint(
                (booking.host_school_id, *(p.school_id for p in booking.participants))
            ):
                continue
            if teacher is not None and session.teacher != teacher:
                continue
            if terminal_id is None and school_id is None:
                orgs = booking_orgs(lookups, booking)
                if not any(visible(principal, org) for org in orgs):
                    continue
            sessions.append(session)
        return sessions


def zones_of(uow: UnitOfWork, principal: Principal, org_ids: Iterable[str]) -> dict[str, ZoneInfo]:
    """The time zones of organisations (the host schools of a feed's lessons), by id."""
    return {org.id: org.zone for org in orgs_of(uow, principal, org_ids).values()}


def orgs_of(
    uow: UnitOfWork, principal: Principal, org_ids: Iterable[str]
) -> dict[str, Organisation]:
    """Organisations by id, from the reference copy (a page's viewer: its name and zone)."""
    authorize(principal, Action.READ)
    with uow:
        return Lookups(uow).orgs(set(org_ids))
