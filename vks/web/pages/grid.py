"""The timetable grid: a week of a school or a network (or some terminals) as lesson numbers
by each school's bells in its local time — busy cells say by which lesson, and hovering
shows every other school's own lesson number and time; htmx moves between weeks and
scopes. A click on a free cell opens the booking form prefilled (one lesson, or weekly over
the quarter or the year); "Check" runs the booking service's dry run and shows the
conflicts with the alternatives it proposes, one click takes one; "Book" books."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.access import Action
from booking.conflicts import Alternative, ConflictItem
from booking.errors import BookingConflict, DomainError
from booking.organisations import OrgKind
from booking.services import inventory, partners
from booking.services.bookings import create_booking
from booking.services.changes import BookingResult
from booking.services.week_grid import (
    WeekGrid,
    series_span,
    week_grid,
    week_of,
)
from booking.words import Words
from vks.web.booking_form import (
    CAMERA_PRESETS,
    SEPARATOR,
    BookingForm,
    ParticipantRow,
    alternative_token,
    id_of,
    labelled,
    read_alternative,
)
from vks.web.csrf import require_csrf
from vks.web.dates import MaybeDay
from vks.web.grid_view import rows_of
from vks.web.rendering import formats_for, gettext_for, render
from vks.web.session import CurrentViewer, Viewer, container_of

router = APIRouter()

Id = Annotated[str | None, Query(max_length=64)]


def _scopes(request: Request, viewer: Viewer, school: str | None, network: str | None) -> list[Any]:
    """The networks the viewer may open, and the schools of one of them (the chosen network,
    the chosen school's, else the viewer's own or the first), in path order: a region's
    5,000 schools would make a selector nobody can use (its first 500, a wrong one)."""
    container = container_of(request)
    principal = viewer.principal
    networks = list(
        inventory.organisations_page(
            container.reading_uow(), principal, kinds=[OrgKind.NETWORK], limit=500
        ).items
    )
    uow = container.reading_uow()
    with uow:
        chosen = uow.organisations.get(school) if school else None
        parent = next((n for n in networks if n.id == network), None)
        if parent is None and chosen is not None:
            parent = next((n for n in networks if chosen.is_within(n.path)), None)
        if parent is None and networks:
            parent = networks[0]
        path = parent.path if parent is not None else principal.org_path
        schools = list(uow.organisations.search(path, kinds=[OrgKind.SCHOOL], limit=500))
    return sorted({o.id: o for o in [*networks, *schools]}.values(), key=lambda o: o.path)


def _default_scope(viewer: Viewer, scopes: list[Any]) -> tuple[str | None, str | None]:
    """The viewer's own school or network, else the first network they see."""
    own = next((o for o in scopes if o.id == viewer.principal.org_id), None)
    if own is not None:
        return (own.id, None) if own.kind == OrgKind.SCHOOL else (None, own.id)
    first = next((o for o in scopes if o.kind == OrgKind.NETWORK), None)
    return (None, first.id if first else None)


def grid_query(
    week: date, school: str | None, network: str | None, terminals: str | None, rows: str
) -> str:
    pairs = [("week", week.isoformat())]
    pairs += [(k, v) for k, v in (("school", school), ("network", network)) if v]
    pairs += [("terminals", terminals)] if terminals else []
    pairs += [("rows", rows)] if rows != "terminal" else []
    return urlencode(pairs)


@router.get("/grid")
async def grid_page(
    request: Request,
    viewer: CurrentViewer,
    week: Annotated[MaybeDay, Query()] = None,
    school: Id = None,
    network: Id = None,
    terminals: Annotated[str | None, Query(max_length=2000)] = None,
    rows: Annotated[Literal["terminal", "school"], Query()] = "terminal",
) -> Response:
    container = container_of(request)
    zone = viewer.zone
    monday = week_of(week or container.clock.now().astimezone(zone).date())

    gettext = gettext_for(request)
    can_book = viewer.principal.can(Action.BOOK)

    def load() -> tuple[WeekGrid | None, list[Any], str | None, str | None]:
        scopes = _scopes(request, viewer, school, network)
        chosen_school, chosen_network = school, network
        if not (school or network or terminals):
            chosen_school, chosen_network = _default_scope(viewer, scopes)
        if not (chosen_school or chosen_network or terminals):
            return None, scopes, None, None
        found = week_grid(
            container.reading_uow(), viewer.principal, week=monday, school_id=chosen_school,
            network_id=chosen_network, terminal_ids=(terminals or "").split(",") if terminals
            else (), by_school=rows == "school", now=container.clock.now(),
            policy=container.policy,
        )  # fmt: skip
        return found, scopes, chosen_school, chosen_network

    found, scopes, chosen_school, chosen_network = await run_in_threadpool(load)

    def query(at: date) -> str:
        return grid_query(at, chosen_school, chosen_network, terminals, rows)

    values: dict[str, Any] = {
        "grid": found,
        "scopes": scopes,
        "school": chosen_school or "",
        "network": chosen_network or "",
        "rows": rows,
        "week": monday,
        "query": query,
        "here": f"/grid?{query(monday)}",
        "can_book": can_book,
        "week_end": monday + timedelta(days=6),
        "timedelta": timedelta,
        "view_rows": rows_of(found, gettext, formats_for(request).zone_name, can_book=can_book)
        if found
        else [],
        "span": len(found.lesson_numbers) if found else 0,
    }
    fragment = request.headers.get("HX-Request") == "true"
    return render(request, "grid/_body.html" if fragment else "grid/page.html", **values)


@router.get("/grid/book")
async def booking_form(
    request: Request,
    viewer: CurrentViewer,
    terminal: Annotated[str, Query(alias="t", max_length=64)],
    on: Annotated[date, Query(alias="d")],
    lesson: Annotated[int, Query(alias="n", ge=0, le=20)],
) -> Response:
    """The form, prefilled from the cell clicked: the terminal's school as the host, the
    terminal, the date and the lesson; the teacher left for the booker to write (those who
    book — coordinators, network administrators — are seldom the lesson's teacher)."""
    container = container_of(request)
    found = await run_in_threadpool(
        inventory.get_terminal, container.reading_uow(), viewer.principal, terminal
    )
    form = BookingForm(
        host_school_id=found.site_id,
        on_date=on,
        lesson_number=lesson,
        participants=(ParticipantRow(found.site_id, terminal, "teacher"),),
        back=f"/grid?week={week_of(on).isoformat()}",
    )
    return await _form_page(request, viewer, form)


async def _form_page(
    request: Request,
    viewer: Viewer,
    form: BookingForm,
    *,
    check: Check | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> Response:
    container = container_of(request)
    rows = form.rows

    def choices() -> tuple[list[Any], dict[str, str], dict[str, list[Any]]]:
        uow = container.reading_uow
        schools = inventory.organisations_page(
            uow(), viewer.principal, kinds=[OrgKind.SCHOOL], limit=500
        ).items
        chosen = [r.school_id for r in rows if r.school_id]
        names = inventory.names_of(uow(), viewer.principal, [form.host_school_id, *chosen])
        at = partners.terminals_at(uow(), viewer.principal, chosen) if chosen else {}
        names |= {t.id: t.name for found in at.values() for t in found}
        return list(schools), names, at

    schools, names, at = await run_in_threadpool(choices)
    return render(
        request, "grid/book.html", status=status, form=form, check=check, error=error,
        schools=schools, names=names, terminals_at=at, presets=CAMERA_PRESETS,
        token=alternative_token, labelled=labelled,
    )  # fmt: skip


def _typed(request: Request) -> str:
    """What the person typed in a school field (htmx sends the field by its name)."""
    for name, value in request.query_params.items():
        if name.startswith("school_"):
            return id_of(value) if SEPARATOR.strip() in value else value[:100]
    return ""


@router.get("/grid/partners")
async def partner_schools(request: Request, viewer: CurrentViewer) -> Response:
    """The schools whose name holds what was typed, anywhere in the region: the options
    of the form's school list (htmx swaps them in as the person types)."""
    typed = _typed(request)
    found = await run_in_threadpool(
        partners.schools_named, container_of(request).reading_uow(), viewer.principal, typed
    )
    return render(request, "grid/partners.html", schools=found, labelled=labelled)


@router.get("/grid/partners/terminals")
async def partner_terminals(request: Request, viewer: CurrentViewer) -> Response:
    """The active terminals of the school in a row's school field: that row's terminal
    list (htmx asks when the terminal field is entered)."""
    school = id_of(_typed(request))
    found = await run_in_threadpool(
        partners.terminals_at, container_of(request).reading_uow(), viewer.principal, [school]
    )
    return render(request, "grid/partners.html", terminals=found.get(school, []), labelled=labelled)


@router.post("/grid/book", dependencies=[Depends(require_csrf)])
async def book(request: Request, viewer: CurrentViewer) -> Response:
    """Check (a dry run: conflicts, warnings, alternatives), take an alternative (then
    check again), or book."""
    container = container_of(request)
    sent = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        form = BookingForm.read(sent)
        if sent.get("take"):
            form = form.take(read_alternative(sent["take"]))
    except DomainError as refused:
        return await _form_page(request, viewer, BookingForm(), error=refused, status=422)
    saving = sent.get("action") == "book" and not sent.get("take")

    def act() -> BookingResult:
        def span(on: date, over: str) -> tuple[date, date]:
            return series_span(container.reading_uow(), viewer.principal, on, over=over)

        return create_booking(
            container.uow_factory(), viewer.principal, form.request(span),
            now=container.clock.now(), policy=container.policy, dry_run=not saving,
        )  # fmt: skip

    try:
        result = await run_in_threadpool(act)
    except BookingConflict as refused:  # a race lost between the check and the booking
        details = refused.details
        check = Check(
            list(details.get("conflicts", [])), list(details.get("alternatives", [])), [], False
        )
        return await _form_page(request, viewer, form, check=check, error=refused, status=409)
    except DomainError as refused:
        return await _form_page(request, viewer, form, error=refused, status=422)
    if result.written:
        return RedirectResponse(f"/bookings/{result.booking.id}?notice=booked", status_code=303)
    check = Check(result.conflicts, result.alternatives, result.warnings, not result.conflicts)
    return await _form_page(request, viewer, form, check=check)


@dataclass(frozen=True)
class Check:
    """What a dry run said: the conflicts, the alternatives, the warnings; `clear` when
    the booking can be made as it is."""

    conflicts: list[ConflictItem]
    alternatives: list[Alternative]
    warnings: list[Words]
    clear: bool
