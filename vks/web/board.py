"""The Today board's view: every lesson of the viewer's day in their scope (read through
the same services as the API: `booking.services.bookings.sessions_page`, scoped by
`booking.access`), with what the automation stored about it — state, lateness, at-risk
reasons, switches to backups — and which operator actions the viewer's role allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.storage.board import Mark, SqlBoard
from booking.access import Action, Principal
from booking.bookings import OccurrenceState
from booking.lifecycle import ACTIVE, FINAL, IN_CALL, STARTABLE, WAITING, lateness
from booking.organisations import Organisation
from booking.resources import Camera, Terminal
from booking.services import bookings
from booking.services.bookings import Session
from vks.bootstrap import Container

MAX_ROWS = 1000
"""A day's lessons in one scope (a region's busiest day is a few hundred)."""


@dataclass
class CameraView:
    id: str
    school: str
    presets: list[str]


@dataclass
class Row:
    id: str
    title: str
    teacher: str
    host_school: str
    zone: ZoneInfo
    start: datetime
    end: datetime
    lesson_number: int | None
    state: OccurrenceState
    state_reason: str
    at_risk: str
    late_minutes: int
    switches: list[str]
    schools: list[tuple[str, str]]  # (school id, name)
    terminals: list[tuple[str, str]]  # (terminal id, school name)
    cameras: list[CameraView] = field(default_factory=list)
    operable: bool = False
    can_start: bool = False
    can_end: bool = False
    can_redial: bool = False


@dataclass
class Board:
    day_start: datetime
    rows: list[Row]
    schools: list[tuple[str, str]]  # every school on the board, for the filter
    total: int  # lessons before the filters


def day_of(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The viewer's calendar day around `now`, as instants."""
    local = now.astimezone(zone).date()
    start = datetime.combine(local, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def _row(
    session: Session,
    orgs: dict[str, Organisation],
    terminals: dict[str, Terminal],
    cameras: dict[str, Camera],
    switches: list[str],
    principal: Principal,
    now: datetime,
    zone: ZoneInfo,
) -> Row:
    occurrence, booking = session.occurrence, session.booking
    state = OccurrenceState.CANCELLED if occurrence.cancelled else occurrence.state
    late = timedelta(0)
    if state in WAITING or state is OccurrenceState.PREPARING:
        late = lateness(occurrence.start, now)

    def name(org_id: str) -> str:
        org = orgs.get(org_id)
        return org.name if org is not None and org.name else org_id

    host = orgs.get(booking.host_school_id)
    schools = [(booking.host_school_id, name(booking.host_school_id))]
    for p in booking.participants:
        if p.school_id != booking.host_school_id:
            schools.append((p.school_id, name(p.school_id)))
    on_terminals = []
    for terminal_id in occurrence.terminal_ids:
        terminal = terminals.get(terminal_id)
        on_terminals.append((terminal_id, name(terminal.site_id) if terminal else ""))
    in_call = bool(occurrence.room_id) and state not in FINAL
    operable = principal.can(Action.OPERATE)
    return Row(
        id=occurrence.id,
        title=booking.title,
        teacher=session.teacher,
        host_school=name(booking.host_school_id),
        zone=host.zone if host is not None else zone,
        start=occurrence.start,
        end=occurrence.end,
        lesson_number=occurrence.lesson_number,
        state=state,
        state_reason=occurrence.state_reason,
        at_risk=occurrence.at_risk,
        late_minutes=int(late.total_seconds() // 60),
        switches=switches,
        schools=schools,
        terminals=on_terminals,
        cameras=[
            CameraView(cameras[t].id, name(terminals[t].site_id), list(cameras[t].presets))
            for t in occurrence.terminal_ids
            if t in cameras and t in terminals
        ],
        operable=operable,
        can_start=operable and (state in STARTABLE or state in ACTIVE) and now < occurrence.end,
        can_end=operable and (state in IN_CALL or in_call),
        can_redial=operable and in_call,
    )


def board(
    container: Container,
    principal: Principal,
    now: datetime,
    zone: ZoneInfo,
    *,
    states: Sequence[str] = (),
    school_id: str | None = None,
) -> Board:
    """Today's lessons the principal may see, filtered by state and by school. One page
    of the service's sessions, then one read of their schools and terminals (and the
    cameras of lessons in a call, for the operators' preset buttons)."""
    start, end = day_of(now, zone)
    page = bookings.sessions_page(
        container.reading_uow(), principal, start, end, include_cancelled=True,
        offset=0, limit=MAX_ROWS, policy=container.policy,
    )  # fmt: skip
    sessions = list(page.items)
    school_ids = {s.booking.host_school_id for s in sessions} | {
        p.school_id for s in sessions for p in s.booking.participants
    }
    terminal_ids = {t for s in sessions for t in s.occurrence.terminal_ids}
    operating = principal.can(Action.OPERATE)
    uow = container.reading_uow()
    with uow:
        orgs = uow.organisations.get_many(school_ids)
        terminals = uow.terminals.get_many(terminal_ids)
        cameras: dict[str, Camera] = {}
        for s in sessions:
            if operating and s.occurrence.room_id and s.occurrence.state in IN_CALL:
                for t in s.occurrence.terminal_ids:
                    camera = uow.cameras.for_terminal(t)
                    if camera is not None:
                        cameras[t] = camera
    engine = container.engine
    ids = [s.occurrence.id for s in sessions]
    switched = SqlBoard(engine).switches(ids) if engine is not None else {}
    rows = [
        _row(s, orgs, terminals, cameras, switched.get(s.occurrence.id, []), principal, now, zone)
        for s in sessions
    ]
    every_school = sorted({s for r in rows for s in r.schools}, key=lambda s: s[1])
    total = len(rows)
    if states:
        rows = [r for r in rows if r.state.value in states]
    if school_id:
        rows = [r for r in rows if any(s == school_id for s, _ in r.schools)]
    rows.sort(key=lambda r: (r.start, r.title))
    return Board(start, rows, every_school, total)


def change_mark(container: Container) -> Mark:
    """Changes when anything the board shows has been stored (see `adapters.storage.board`)."""
    return SqlBoard(container.engine).change_mark() if container.engine is not None else (0, 0, 0)
