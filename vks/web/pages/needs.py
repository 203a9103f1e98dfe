"""The search "from need" on pages (seed 003, §5): a school's coordinator states a need no
offer of its own network meets (a request carrying the need, submitted to its network);
whoever may search — the RCC, the network, the school itself — searches every network's
offers for it, each result explained (the lesson at both schools, places left, busy
dates), and invites the offering network to take the school in; that network's
administrator accepts (the school's request is filed to it, submitted) or declines. The
same service functions as `/api/v1/workflow/needs/search` and `/invitations`
(`booking/services/workflow/need_search.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.errors import InvalidInput, NotFound
from booking.services.inventory import names_of
from booking.services.workflow import need_search, offers
from booking.services.workflow import school_requests as requests_service
from booking.services.workflow.school_requests import RequestInput
from booking.words import Words
from booking.workflow.requests import Need
from vks.web.csrf import require_csrf
from vks.web.rendering import language_of, render
from vks.web.session import CurrentViewer, Viewer, container_of, now_of
from vks.web.session import workflow_reading as _reading
from vks.web.session import workflow_writing as _writing

router = APIRouter()

SHOWN = 10
MAX_LESSON = 12


def _numbers(raw: str, field: str, low: int, high: int) -> tuple[int, ...]:
    """«5, 6» → (5, 6): whole numbers within [low, high], separated by commas or spaces."""
    parts = raw.replace(",", " ").split()
    if not all(p.isdigit() and low <= int(p) <= high for p in parts):
        raise InvalidInput(
            Words("%(field)s: whole numbers from %(low)s to %(high)s",
                  {"field": Words(field), "low": low, "high": high}),
            field=field,
        )  # fmt: skip
    return tuple(sorted({int(p) for p in parts}))


def _need_of(form: Any) -> Need:
    """The need stated in the form (the API's `NeedIn` limits, as a form reads them)."""
    subject = str(form.get("subject", "")).strip()
    if not subject or len(subject) > 100:
        raise InvalidInput(Words("name the subject (up to 100 characters)"), field="subject")
    grade = _numbers(str(form.get("grade", "")), "grade", 1, 11)
    hours = _numbers(str(form.get("hours", "1")), "hours", 1, 10) or (1,)
    if len(grade) != 1 or len(hours) != 1:
        raise InvalidInput(Words("one grade and one number of hours a week"), field="grade")
    weekdays = tuple(sorted({int(d) for d in form.getlist("weekday") if str(d) in "0123456"}))
    lessons = _numbers(str(form.get("lessons", "")), "lessons", 1, MAX_LESSON)
    return Need(subject, grade[0], hours[0], lessons, weekdays)


@router.post("/needs/new", dependencies=[Depends(require_csrf)])
async def state_need(request: Request, viewer: CurrentViewer) -> Response:
    """The school's request carrying the need, submitted to its network (or a draft)."""
    form = await request.form()
    need = _need_of(form)
    submit = form.get("submit") == "yes"
    container = container_of(request)

    def act() -> str:
        made = requests_service.create_request(
            _writing(request), viewer.principal,
            RequestInput(viewer.principal.org_id, [], [need]), policy=container.policy,
        )  # fmt: skip
        if submit:
            requests_service.submit_request(
                _writing(request), viewer.principal, made.id, now=now_of(request)
            )
        return made.id

    made_id = await run_in_threadpool(act)
    return RedirectResponse(f"/requests/{made_id}", status_code=303)


def _stated(request: Request, viewer: Viewer, request_id: str, index: int) -> tuple[Any, Need]:
    found = requests_service.get_request(_reading(request), viewer.principal, request_id)
    if not 0 <= index < len(found.needs):
        raise NotFound(f"request {request_id} has no need {index + 1}", request_id=request_id)
    return found, found.needs[index]


def _search_view(request: Request, viewer: Viewer, request_id: str, index: int) -> dict[str, Any]:
    container = container_of(request)
    found, need = _stated(request, viewer, request_id, index)
    matches = need_search.search_needs(
        _reading(request), viewer.principal, found.school_id, need, limit=SHOWN,
        policy=container.policy,
    )  # fmt: skip
    lessons = {
        m.offer_id: offers.get_offer(_reading(request), viewer.principal, m.offer_id)
        for m in matches
    }
    english = language_of(request) == "en"
    return {
        "req": found,
        "need": need,
        "index": index,
        "matches": [(m, m.reasons_en if english else m.reasons_ru) for m in matches],
        "lessons": lessons,
        "names": names_of(
            _reading(request),
            viewer.principal,
            [found.school_id, *(m.network_id for m in matches)]
            + [o.host_school_id for o in lessons.values()],
        ),
    }


@router.get("/requests/{request_id}/needs/{number}")
async def search(request: Request, request_id: str, number: int, viewer: CurrentViewer) -> Response:
    """Every network's offers fitting the request's need `number` (from 1), explained."""
    view = await run_in_threadpool(_search_view, request, viewer, request_id, number - 1)
    return render(request, "needs.html", **view)


@router.post("/needs/invite", dependencies=[Depends(require_csrf)])
async def invite(
    request: Request, viewer: CurrentViewer,
    request_id: Annotated[str, Form(alias="request", min_length=1, max_length=64)],
    number: Annotated[int, Form(alias="need", ge=1, le=100)],
    offer_id: Annotated[str, Form(alias="offer", min_length=1, max_length=64)],
    class_name: Annotated[str, Form(min_length=1, max_length=32)],
    pupils: Annotated[int, Form(ge=1, le=500)],
) -> Response:  # fmt: skip
    """Ask the offering network to take the school in, for the class named."""

    def act() -> None:
        found, need = _stated(request, viewer, request_id, number - 1)
        need_search.invite(
            _writing(request), viewer.principal, offer_id, found.school_id, need,
            class_name=class_name.strip(), pupils=pupils, now=now_of(request),
        )  # fmt: skip

    await run_in_threadpool(act)
    return RedirectResponse(f"/requests/{request_id}?invited={offer_id}", status_code=303)


async def _answer(request: Request, viewer: Viewer, invitation_id: str, accept: bool,
                  answer: str) -> Response:  # fmt: skip
    container = container_of(request)

    def act() -> Any:
        return need_search.answer_invitation(
            _writing(request), viewer.principal, invitation_id, accept=accept, answer=answer,
            now=now_of(request), policy=container.policy,
        )  # fmt: skip

    _invitation, filed = await run_in_threadpool(act)
    return RedirectResponse(f"/requests/{filed.id}" if filed else "/requests", status_code=303)


@router.post("/invitations/{invitation_id}/accept", dependencies=[Depends(require_csrf)])
async def accept(
    request: Request, invitation_id: str, viewer: CurrentViewer,
    answer: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """The offering network takes the school in: its request is filed there, submitted."""
    return await _answer(request, viewer, invitation_id, True, answer)


@router.post("/invitations/{invitation_id}/decline", dependencies=[Depends(require_csrf)])
async def decline(
    request: Request, invitation_id: str, viewer: CurrentViewer,
    answer: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    return await _answer(request, viewer, invitation_id, False, answer)
