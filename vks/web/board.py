"""The Today board's view: the lessons of the viewer's day in their scope (scoped as the
API scopes them, `booking.access.scope_of`), with what the automation stored about each —
state, lateness, at-risk reasons, switches to backups — and which operator actions the
viewer's role allows.

A region's day is thousands of lessons (10,000 terminals: ~6,000 on a study day), more
than anyone reads as one table and more than a page can render in 100 ms. So the board is
made of three parts, each counted or paged by the database (`adapters.storage.board`):
the day's counts by state (and by municipality or network below the viewer's scope), the
lessons needing attention now (failed, degraded, at risk, late to start), and the day's
lessons by start time, filtered by state, area or school, a page at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.storage.board import CANCELLED, DayCount, DayQuery, Mark, SqlBoard
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.access import Action, Principal, authorize, scope_of
from booking.bookings import Booking, Occurrence, OccurrenceState
from booking.errors import NotFound
from booking.lifecycle import ACTIVE, FINAL, IN_CALL, STARTABLE, WAITING, lateness
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Terminal
from vks.bootstrap import Container

PAGE_ROWS = 50
"""Lessons a page shows at first; "show more" asks for as many again."""

MAX_ROWS = 1000
"""The most lessons one page shows (the `rows` asked for is capped here)."""

ATTENTION_ROWS = 20
"""Lessons needing attention shown at the top, those not over yet first (the rest through
the attention filter)."""

SCHOOL_CHOICES = 300
"""The school filter lists the schools of the scope (or the chosen area) up to this many;
with more (a region's 5,000), an area is chosen first."""

STATES = (*(s.value for s in OccurrenceState if s is not OccurrenceState.CANCELLED), CANCELLED)
TROUBLED = (OccurrenceState.DEGRADED.value, OccurrenceState.FAILED.value)
LATE_TO_START = tuple(s.value for s in WAITING | {OccurrenceState.PREPARING})


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
class AreaCount:
    id: str
    name: str
    counts: dict[str, int]  # by state (cancelled included)
    at_risk: int
    total: int


@dataclass
class Summary:
    counts: dict[str, int]  # the day's lessons in the scope by state
    at_risk: int
    total: int
    areas: list[AreaCount]  # by municipality (or network) below the scope, when any


@dataclass
class Board:
    day_start: datetime
    rows: list[Row]
    shown_total: int  # lessons matching the filters (rows is the first `limit` of them)
    attention: list[Row]
    attention_total: int
    summary: Summary
    areas: list[tuple[str, str]]  # (id, name): municipalities and networks, for the filter
    schools: list[tuple[str, str]]  # for the filter; empty when there are too many
    limit: int

    @property
    def total(self) -> int:
        """The day's lessons in the scope, before the filters."""
        return self.summary.total


@dataclass(frozen=True)
class Filters:
    states: Sequence[str] = ()
    area_id: str | None = None
    school_id: str | None = None
    attention: bool = False  # only the lessons needing attention
    rows: int = PAGE_ROWS


def day_of(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The viewer's calendar day around `now`, as instants."""
    local = now.astimezone(zone).date()
    start = datetime.combine(local, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def board(
    container: Container,
    principal: Principal,
    now: datetime,
    zone: ZoneInfo,
    filters: Filters = Filters(),
) -> Board:
    """Today's lessons the principal may see: the counts, those needing attention and one
    page of those the filters choose. Ids come from the database's filters and paging,
    then one read of their occurrences, bookings, schools and terminals (and the cameras
    of lessons in a call, for the operators' preset buttons) — every read in one unit of
    work's transaction."""
    authorize(principal, Action.READ)
    if container.engine is None:
        raise NotFound("no lessons are kept by this service")
    scope = scope_of(principal)
    start, end = day_of(now, zone)
    limit = max(1, min(filters.rows, MAX_ROWS))
    uow = container.reading_uow()
    with uow:  # every read of the page in this unit of work's transaction
        within = uow.connection if isinstance(uow, SqlUnitOfWork) else None
        store = SqlBoard(container.engine, within=within)
        areas = [
            o for o in uow.organisations.search(
                principal.org_path, kinds=[OrgKind.MUNICIPALITY, OrgKind.NETWORK], limit=500
            ) if o.path != principal.org_path
        ]  # fmt: skip
        area = next((a for a in areas if a.id == filters.area_id), None)
        where = area.path if area is not None else principal.org_path
        kinds = [OrgKind.SCHOOL]
        few = uow.organisations.count(where, kinds=kinds) <= SCHOOL_CHOICES
        schools = uow.organisations.search(where, kinds=kinds, limit=SCHOOL_CHOICES) if few else []
        chosen = DayQuery(
            start, end, scope, states=tuple(s for s in filters.states if s in STATES),
            area=area.path if area is not None else None, school_id=filters.school_id or None,
        )  # fmt: skip
        troubled = DayQuery(
            start, end, scope, attention_at=now, waiting=LATE_TO_START, troubled=TROUBLED
        )
        if filters.attention:
            chosen = DayQuery(
                chosen.start, chosen.end, scope, chosen.states, chosen.area, chosen.school_id,
                attention_at=now, waiting=LATE_TO_START, troubled=TROUBLED,
            )  # fmt: skip
        depth = principal.org_path.count("/") + 2  # the level below the viewer's own
        counts = store.day_counts(start, end, scope, depth)
        unfiltered = chosen == DayQuery(start, end, scope)  # the page's total: the day's
        known = sum(c.count for c in counts) if unfiltered else None
        page_ids, shown_total = store.day_ids(chosen, offset=0, limit=limit, total=known)
        attention_ids, attention_total = store.day_ids(troubled, offset=0, limit=ATTENTION_ROWS)
        rows = _rows(uow, store, principal, now, zone, [*page_ids, *attention_ids])
    below = {a.id: a for a in areas if a.path.count("/") + 1 == depth}
    return Board(
        day_start=start,
        rows=[rows[i] for i in page_ids if i in rows],
        shown_total=shown_total,
        attention=[rows[i] for i in attention_ids if i in rows],
        attention_total=attention_total,
        summary=_summary(counts, below),
        areas=[(a.id, a.name) for a in sorted(areas, key=lambda a: a.path)],
        schools=sorted(((s.id, s.name) for s in schools), key=lambda s: s[1]),
        limit=limit,
    )


def _summary(counts: list[DayCount], areas: dict[str, Organisation]) -> Summary:
    """The day's counts by state, and by the area one level below the scope (the
    municipalities of a region, the networks of a municipality) when it has such; lessons
    hosted outside the scope (joined by its schools) are counted as hosted elsewhere."""
    by_state: dict[str, int] = defaultdict(int)
    by_area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    risky_by_area: dict[str, int] = defaultdict(int)
    at_risk = 0
    for c in counts:
        key = c.area if c.area in areas else ""
        by_state[c.state] += c.count
        by_area[key][c.state] += c.count
        if c.at_risk and c.state != CANCELLED:
            at_risk += c.count
            risky_by_area[key] += c.count
    shown = [
        AreaCount(
            key,
            areas[key].name if key else "",
            dict(states),
            risky_by_area[key],
            sum(states.values()),
        )
        for key, states in sorted(by_area.items(), key=lambda i: (not i[0], _path_of(areas, i[0])))
    ]
    if not any(a.id for a in shown):
        shown = []  # nothing to split: the scope itself is the only area
    return Summary(dict(by_state), at_risk, sum(by_state.values()), shown)


def _path_of(areas: dict[str, Organisation], key: str) -> str:
    return areas[key].path if key in areas else ""


def _rows(
    uow: UnitOfWork,
    store: SqlBoard,
    principal: Principal,
    now: datetime,
    zone: ZoneInfo,
    ids: list[str],
) -> dict[str, Row]:
    occurrences = uow.occurrences.get_many(ids)
    bookings = uow.bookings.get_many({o.booking_id for o in occurrences.values()})
    school_ids = {b.host_school_id for b in bookings.values()} | {
        p.school_id for b in bookings.values() for p in b.participants
    }
    terminal_ids = {t for o in occurrences.values() for t in o.terminal_ids}
    orgs = uow.organisations.get_many(school_ids)
    terminals = uow.terminals.get_many(terminal_ids)
    operating = principal.can(Action.OPERATE)
    in_call = {
        t
        for o in occurrences.values()
        if operating and o.room_id and o.state in IN_CALL
        for t in o.terminal_ids
    }
    cameras = store.cameras(in_call) if in_call else {}
    switched = store.switches(occurrences)
    return {
        o.id: _row(
            o,
            bookings[o.booking_id],
            orgs,
            terminals,
            cameras,
            switched.get(o.id, []),
            principal,
            now,
            zone,
        )
        for o in occurrences.values()
        if o.booking_id in bookings
    }


def _row(
    occurrence: Occurrence,
    booking: Booking,
    orgs: dict[str, Organisation],
    terminals: dict[str, Terminal],
    cameras: dict[str, tuple[str, list[str]]],
    switches: list[str],
    principal: Principal,
    now: datetime,
    zone: ZoneInfo,
) -> Row:
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
        teacher=occurrence.teacher or booking.teacher,
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
            CameraView(cameras[t][0], name(terminals[t].site_id), cameras[t][1])
            for t in occurrence.terminal_ids
            if t in cameras
            and t in terminals
            and occurrence.room_id
            and occurrence.state in IN_CALL
        ],
        operable=operable,
        can_start=operable and (state in STARTABLE or state in ACTIVE) and now < occurrence.end,
        can_end=operable and (state in IN_CALL or in_call),
        can_redial=operable and in_call,
    )


def change_mark(container: Container) -> Mark:
    """Changes when anything the board shows has been stored (see `adapters.storage.board`)."""
    return SqlBoard(container.engine).change_mark() if container.engine is not None else (0, 0, 0)
