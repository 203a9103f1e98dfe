"""Bookings: the list of the viewer's scope (a date range, paging), a booking with its
dates, and one date with its history of states (times, causes) and the viewer's join link.
Cancel one date, move one date to another lesson, cancel the series: CSRF-checked forms
that carry the version the page showed, so a change made meanwhile by someone else is
refused and explained (reload) instead of overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.access import Action
from booking.errors import DomainError, VersionMismatch
from booking.services import bookings, queries
from vks.web.csrf import require_csrf
from vks.web.dates import Day, MaybeDay
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of

router = APIRouter()

PAGE_SIZE = 25


@dataclass
class Listing:
    items: list[Any]
    total: int
    offset: int
    start: date
    end: date
    zones: dict[str, ZoneInfo]
    names: dict[str, str]  # the schools' names by id


def _range(start: date | None, end: date | None, zone: ZoneInfo, today: date) -> tuple[date, date]:
    start = start or today
    end = end or start + timedelta(days=30)
    return start, end


def _instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


@router.get("/bookings")
async def booking_list(
    request: Request,
    viewer: CurrentViewer,
    start: Annotated[MaybeDay, Query(alias="from")] = None,
    end: Annotated[MaybeDay, Query(alias="to")] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    container = container_of(request)
    today = container.clock.now().astimezone(viewer.zone).date()
    first, last = _range(start, end, viewer.zone, today)

    def load() -> Listing:
        page = bookings.bookings_page(
            container.reading_uow(), viewer.principal,
            start=_instant(first, viewer.zone), end=_instant(last + timedelta(days=1), viewer.zone),
            offset=offset, limit=PAGE_SIZE, policy=container.policy,
        )  # fmt: skip
        items = list(page.items)
        ids = {b.host_school_id for b in items} | {
            p.school_id for b in items for p in b.participants
        }
        schools = queries.orgs_of(container.reading_uow(), viewer.principal, ids)
        zones = {i: o.zone for i, o in schools.items()}
        names = {i: o.name or i for i, o in schools.items()}
        return Listing(items, page.total, offset, first, last, zones, names)

    listing = await run_in_threadpool(load)
    return render(request, "bookings.html", listing=listing, page_size=PAGE_SIZE)


def _booking_view(request: Request, viewer: Viewer, booking_id: str) -> dict[str, Any]:
    container = container_of(request)
    uow = container.reading_uow
    booking = bookings.get_booking(uow(), viewer.principal, booking_id)
    occurrences = bookings.occurrences_of(uow(), viewer.principal, booking_id)
    schools = queries.orgs_of(
        uow(), viewer.principal,
        [booking.host_school_id, *(p.school_id for p in booking.participants)],
    )  # fmt: skip
    host = schools.get(booking.host_school_id)
    now = container.clock.now()
    return {
        "booking": booking,
        "occurrences": occurrences,
        "zone": host.zone if host is not None else viewer.zone,
        "names": {i: o.name or i for i, o in schools.items()},
        "can_book": viewer.principal.can(Action.BOOK),
        "now": now,
    }


@router.get("/bookings/{booking_id}")
async def booking_detail(
    request: Request, booking_id: str, viewer: CurrentViewer,
    notice: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:  # fmt: skip
    view = await run_in_threadpool(_booking_view, request, viewer, booking_id)
    return render(request, "booking.html", notice=notice, **view)


def _changed(request: Request, error: VersionMismatch, back: str) -> Response:
    """A change based on an old version: say so, and how to go on."""
    return render(
        request, "changed.html", status=412, back=back,
        current=error.details.get("current"), expected=error.details.get("expected"),
    )  # fmt: skip


@router.post("/bookings/{booking_id}/cancel", dependencies=[Depends(require_csrf)])
async def cancel_series(
    request: Request, booking_id: str, viewer: CurrentViewer,
    version: Annotated[int, Form(ge=1)],
) -> Response:  # fmt: skip
    container = container_of(request)

    def act() -> None:
        bookings.cancel_booking(
            container.uow_factory(), viewer.principal, booking_id,
            now=container.clock.now(), expected_version=version,
        )  # fmt: skip

    try:
        await run_in_threadpool(act)
    except VersionMismatch as error:
        return _changed(request, error, f"/bookings/{booking_id}")
    return RedirectResponse(f"/bookings/{booking_id}?notice=cancelled", status_code=303)


def _occurrence_view(request: Request, viewer: Viewer, occurrence_id: str) -> dict[str, Any]:
    from adapters.storage.automation import SqlAutomationStore

    container = container_of(request)
    uow = container.reading_uow
    occurrence = bookings.get_occurrence(uow(), viewer.principal, occurrence_id)
    booking = bookings.get_booking(uow(), viewer.principal, occurrence.booking_id)
    zones = queries.zones_of(uow(), viewer.principal, [booking.host_school_id])
    engine = container.engine
    history = SqlAutomationStore(engine).history(occurrence_id) if engine is not None else []
    join: str | None = None
    join_error: DomainError | str = ""
    if viewer.principal.can(Action.JOIN) and occurrence.room_id:
        from vks.automation.api import join_link
        from vks.web.operating import context

        try:
            join = join_link(occurrence_id, context(container, viewer)).join_link
        except DomainError as refused:
            join_error = refused
    return {
        "occurrence": occurrence,
        "booking": booking,
        "zone": zones.get(booking.host_school_id, viewer.zone),
        "history": history,
        "join": join,
        "join_error": join_error,
        "can_book": viewer.principal.can(Action.BOOK),
        "may_change": occurrence.may_change(container.clock.now()),
    }


@router.get("/occurrences/{occurrence_id}")
async def occurrence_detail(
    request: Request, occurrence_id: str, viewer: CurrentViewer,
    notice: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:  # fmt: skip
    view = await run_in_threadpool(_occurrence_view, request, viewer, occurrence_id)
    return render(request, "occurrence.html", notice=notice, **view)


@router.post("/occurrences/{occurrence_id}/cancel", dependencies=[Depends(require_csrf)])
async def cancel_date(
    request: Request, occurrence_id: str, viewer: CurrentViewer,
    version: Annotated[int, Form(ge=1)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    container = container_of(request)

    def act() -> None:
        bookings.cancel_occurrence(
            container.uow_factory(), viewer.principal, occurrence_id,
            now=container.clock.now(), reason=reason, expected_version=version,
        )  # fmt: skip

    try:
        await run_in_threadpool(act)
    except VersionMismatch as error:
        return _changed(request, error, f"/occurrences/{occurrence_id}")
    return RedirectResponse(f"/occurrences/{occurrence_id}?notice=cancelled", status_code=303)


@router.post("/occurrences/{occurrence_id}/move", dependencies=[Depends(require_csrf)])
async def move_date(
    request: Request, occurrence_id: str, viewer: CurrentViewer,
    version: Annotated[int, Form(ge=1)],
    on_date: Annotated[Day, Form(alias="date")],
    lesson_number: Annotated[int, Form(ge=0, le=20)],
) -> Response:  # fmt: skip
    container = container_of(request)

    def act() -> None:
        bookings.move_occurrence(
            container.uow_factory(), viewer.principal, occurrence_id,
            now=container.clock.now(), on_date=on_date, lesson_number=lesson_number,
            expected_version=version, policy=container.policy,
        )  # fmt: skip

    try:
        await run_in_threadpool(act)
    except VersionMismatch as error:
        return _changed(request, error, f"/occurrences/{occurrence_id}")
    return RedirectResponse(f"/occurrences/{occurrence_id}?notice=moved", status_code=303)
