"""The Today board's view: every lesson of the viewer's day in their scope (read through
the same services as the API: `booking.services.bookings.sessions_page`, scoped by
`booking.access`), with what the automation stored about it — state, lateness, at-risk
reasons, switches to backups — and which operator actions the viewer's role allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.storage.automation.sessions import SqlSessions
from adapters.storage.board import Mark, SqlBoard
from booking.access import Action, Principal
from booking.automation_store import SessionRecord
from booking.bookings import OccurrenceState
from booking.lifecycle import ACTIVE, IN_CALL, STARTABLE, WAITING, lateness
from booking.services import bookings, queries
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
    record: SessionRecord,
    zone: ZoneInfo,
    lesson_number: int | None,
    switches: list[str],
    principal: Principal,
    now: datetime,
) -> Row:
    late = timedelta(0)
    if record.state in WAITING or record.state is OccurrenceState.PREPARING:
        late = lateness(record.start, now)
    names = record.site_names
    schools = [(record.host_school_id, names.get(record.host_school_id, record.host_school_id))]
    for p in record.participants:
        if p.school_id != record.host_school_id:
            schools.append((p.school_id, names.get(p.school_id, p.school_id)))
    terminals = []
    for terminal_id in record.terminal_ids:
        terminal = record.terminals.get(terminal_id)
        site = terminal.site_id if terminal else ""
        terminals.append((terminal_id, names.get(site, site)))
    cameras = [
        CameraView(camera.id, names.get(getattr(record.terminals.get(tid), "site_id", ""), ""),
                   list(camera.presets))
        for tid, camera in record.cameras.items()
    ]  # fmt: skip
    operable = principal.can(Action.OPERATE)
    state = record.state
    return Row(
        id=record.occurrence_id,
        title=record.title,
        teacher=record.teacher,
        host_school=names.get(record.host_school_id, record.host_school_id),
        zone=zone,
        start=record.start,
        end=record.end,
        lesson_number=lesson_number,
        state=state,
        state_reason=record.state_reason,
        at_risk=record.at_risk,
        late_minutes=int(late.total_seconds() // 60),
        switches=switches,
        schools=schools,
        terminals=terminals,
        cameras=cameras,
        operable=operable,
        can_start=operable and (state in STARTABLE or state in ACTIVE) and now < record.end,
        can_end=operable and (state in IN_CALL or record.room_open),
        can_redial=operable and record.room_open,
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
    """Today's lessons the principal may see, filtered by state and by school."""
    start, end = day_of(now, zone)
    page = bookings.sessions_page(
        container.reading_uow(), principal, start, end, include_cancelled=True,
        offset=0, limit=MAX_ROWS, policy=container.policy,
    )  # fmt: skip
    numbers = {s.occurrence.id: s.occurrence.lesson_number for s in page.items}
    ids = [s.occurrence.id for s in page.items]
    engine = container.engine
    records = SqlSessions(engine).sessions(ids) if engine is not None else {}
    switched = SqlBoard(engine).switches(ids) if engine is not None else {}
    hosts = {r.host_school_id for r in records.values()}
    zones = queries.zones_of(container.reading_uow(), principal, hosts)
    rows = [
        _row(records[i], zones.get(records[i].host_school_id, zone), numbers[i],
             switched.get(i, []), principal, now)
        for i in ids
        if i in records
    ]  # fmt: skip
    schools = sorted({s for r in rows for s in r.schools}, key=lambda s: s[1])
    total = len(rows)
    if states:
        rows = [r for r in rows if r.state.value in states]
    if school_id:
        rows = [r for r in rows if any(s == school_id for s, _ in r.schools)]
    rows.sort(key=lambda r: (r.start, r.title))
    return Board(start, rows, schools, total)


def change_mark(container: Container) -> Mark:
    """Changes when anything the board shows has been stored (see `adapters.storage.board`)."""
    return SqlBoard(container.engine).change_mark() if container.engine is not None else (0, 0, 0)
