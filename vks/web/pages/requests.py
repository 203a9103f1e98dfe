"""The request workflow's pages (seed 003, §3–4), each role its part: a school's local
coordinator files its requests from the network's published timetable and submits or
withdraws them; the network administrator returns a request with a comment, cross-checks
the submitted ones and assembles them into a combined request that they submit; the RCC
reviews each item of a combined request (free on every date? conflicts, alternatives) and
approves all, a subset, or rejects with a reason. The same service functions as
`/api/v1/workflow` (`booking/services/workflow/`); every rule stays there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from booking.access import Action, authorize
from booking.errors import InvalidInput, NotFound
from booking.services.inventory import names_of
from booking.services.workflow import (
    approval,
    combining,
    need_search,
    offers,
    publishing,
    review,
)
from booking.services.workflow import school_requests as requests_service
from booking.services.workflow.approval import Verdict
from booking.services.workflow.school_requests import ItemInput, RequestInput
from booking.words import Words
from booking.workflow.requests import EDITABLE, WAITING, RequestState, allowed_actions
from vks.web.csrf import require_csrf
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of, now_of
from vks.web.session import workflow_reading as _reading
from vks.web.session import workflow_writing as _writing

router = APIRouter()

SHOWN = 100
MAX_PUPILS = 1000


def _network_of_school(viewer: Viewer) -> str | None:
    """The network above the viewer's organisation (a school's parent in its path)."""
    parts = viewer.principal.org_path.split("/")
    return parts[-2] if len(parts) >= 2 else None


def _files_requests(viewer: Viewer) -> bool:
    """A school's coordinator: may request, not combine (the network does that)."""
    return viewer.principal.can(Action.REQUEST) and not viewer.principal.can(Action.COMBINE)


def _timetable_offers(request: Request, viewer: Viewer, network: str | None = None) -> list[Any]:
    """The offers of the network's published timetable (the viewer's school's network
    unless another is named: a request filed "from need" goes to the offering network)."""
    network = network or _network_of_school(viewer)
    if network is None:
        return []
    try:
        timetable = publishing.get_timetable(_reading(request), viewer.principal, network)
    except NotFound:
        return []
    found, _total = offers.list_offers(
        _reading(request), viewer.principal, network_id=network, limit=SHOWN
    )
    return [o for o in found if o.id in timetable.offers]


WORKFLOW = (Action.REQUEST, Action.COMBINE, Action.APPROVE, Action.ACCEPT)


def _may_take_part(viewer: Viewer) -> None:
    """The requests page is for whoever has a part in the workflow: a school requests, a
    network combines and answers invitations, the RCC approves (a 403 names them)."""
    if not any(viewer.principal.can(a) for a in WORKFLOW):
        authorize(viewer.principal, Action.REQUEST)


def _labels(request: Request, viewer: Viewer, offer_ids: list[str]) -> dict[str, str]:
    """How people name the offers («Физика, 10 класс (Иванова Мария Петровна)»)."""
    labels = {}
    for offer_id in set(offer_ids):
        try:
            found = offers.get_offer(_reading(request), viewer.principal, offer_id)
            labels[offer_id] = found.label()
        except NotFound:
            labels[offer_id] = offer_id
    return labels


def _list_view(request: Request, viewer: Viewer, state: RequestState | None) -> dict[str, Any]:
    principal = viewer.principal
    found, total = requests_service.list_requests(
        _reading(request), principal, states=[state] if state else None, limit=SHOWN
    )
    combining_ok = principal.can(Action.COMBINE)
    combined: list[Any] = []
    if combining_ok or principal.can(Action.APPROVE):
        combined, _ = combining.list_combined(_reading(request), principal, limit=SHOWN)
    invitations, _ = need_search.list_invitations(_reading(request), principal, limit=SHOWN)
    return {
        "invitations": invitations,
        "invited_lessons": _labels(request, viewer, [i.offer_id for i in invitations]),
        "may_accept": principal.can(Action.ACCEPT),
        "requests": found,
        "total": total,
        "state": state.value if state else "",
        "states": [s.value for s in RequestState],
        "waiting": [r for r in found if r.state in WAITING] if combining_ok else [],
        "combined": combined,
        "offers": _timetable_offers(request, viewer) if _files_requests(viewer) else [],
        "may_request": _files_requests(viewer),
        "school_id": principal.org_id,
        "conflicts": None,
        "checked": [],
        "checked_network": "",
        "names": names_of(
            _reading(request),
            principal,
            [r.school_id for r in found]
            + [r.network_id for r in found]
            + [c.network_id for c in combined]
            + [i.school_id for i in invitations]
            + [i.network_id for i in invitations],
        ),
    }


@router.get("/requests")
async def request_list(
    request: Request, viewer: CurrentViewer,
    state: Annotated[RequestState | None, Query()] = None,
) -> Response:  # fmt: skip
    _may_take_part(viewer)
    view = await run_in_threadpool(_list_view, request, viewer, state)
    return render(request, "requests.html", **view)


def _items_of(form: Any) -> list[ItemInput]:
    """The offers ticked in the new-request form, each with its class and pupils."""
    items = []
    for offer_id in form.getlist("offer"):
        class_name = str(form.get(f"class-{offer_id}", "")).strip()
        raw = str(form.get(f"pupils-{offer_id}", "")).strip()
        if not class_name or len(class_name) > 32:
            raise InvalidInput(Words("name the class (up to 32 characters)"), field="class_name")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PUPILS:
            raise InvalidInput(
                Words("the number of pupils is a whole number from 1"), field="pupils"
            )
        items.append(ItemInput(str(offer_id), class_name, int(raw)))
    return items


@router.post("/requests/new", dependencies=[Depends(require_csrf)])
async def new_request(request: Request, viewer: CurrentViewer) -> Response:
    form = await request.form()
    items = _items_of(form)
    if not items:  # refused before anything is written (the service would keep an empty draft)
        raise InvalidInput(Words("tick at least one lesson of the timetable"), field="offer")
    submit = form.get("submit") == "yes"
    container = container_of(request)

    def act() -> str:
        made = requests_service.create_request(
            _writing(request), viewer.principal, RequestInput(viewer.principal.org_id, items),
            policy=container.policy,
        )  # fmt: skip
        if submit:
            requests_service.submit_request(
                _writing(request), viewer.principal, made.id, now=now_of(request)
            )
        return made.id

    made_id = await run_in_threadpool(act)
    return RedirectResponse(f"/requests/{made_id}", status_code=303)


def _detail_view(request: Request, viewer: Viewer, request_id: str) -> dict[str, Any]:
    found = requests_service.get_request(_reading(request), viewer.principal, request_id)
    titles = {}
    for item in found.items:
        try:
            titles[item.offer_id] = offers.get_offer(
                _reading(request), viewer.principal, item.offer_id
            ).label()
        except NotFound:
            titles[item.offer_id] = item.offer_id
    actions = {a.value for a in allowed_actions(found.state)}
    principal = viewer.principal
    may_edit = found.state in EDITABLE and _files_requests(viewer)
    editable = _timetable_offers(request, viewer, found.network_id) if may_edit else []
    return {
        "req": found,
        "may_edit": may_edit,
        "offers": editable,
        "chosen": {i.offer_id: i for i in found.items},
        "titles": titles,
        "names": names_of(_reading(request), principal, [found.school_id, found.network_id]),
        "may_submit": "submit" in actions and principal.can(Action.REQUEST),
        "may_withdraw": "withdraw" in actions and principal.can(Action.REQUEST),
        "may_return": "return" in actions and principal.can(Action.COMBINE),
        "may_search": principal.can(Action.SEARCH_NEEDS) and not found.state.is_final,
    }


@router.get("/requests/{request_id}")
async def request_detail(
    request: Request, request_id: str, viewer: CurrentViewer,
    invited: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:  # fmt: skip
    view = await run_in_threadpool(_detail_view, request, viewer, request_id)
    return render(request, "request.html", invited=invited, **view)


@router.post("/requests/{request_id}/edit", dependencies=[Depends(require_csrf)])
async def edit(request: Request, request_id: str, viewer: CurrentViewer) -> Response:
    """A draft or a returned request edited (its stated needs kept), and resubmitted when
    asked: the page's version guards both steps against a change made meanwhile."""
    form = await request.form()
    version = str(form.get("version", ""))
    if not version.isdigit():
        raise InvalidInput("the page's version is missing", field="version")
    items = _items_of(form)
    if not items:
        raise InvalidInput(Words("tick at least one lesson of the timetable"), field="offer")
    submit = form.get("submit") == "yes"
    container = container_of(request)

    def act() -> None:
        found = requests_service.get_request(_reading(request), viewer.principal, request_id)
        edited = requests_service.edit_request(
            _writing(request), viewer.principal, request_id,
            RequestInput(found.school_id, items, list(found.needs)),
            expected_version=int(version), policy=container.policy,
        )  # fmt: skip
        if submit:
            requests_service.submit_request(
                _writing(request), viewer.principal, request_id,
                now=now_of(request), expected_version=edited.version,
            )  # fmt: skip

    await run_in_threadpool(act)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/submit", dependencies=[Depends(require_csrf)])
async def submit(
    request: Request, request_id: str, viewer: CurrentViewer, version: Annotated[int, Form(ge=1)]
) -> Response:
    await run_in_threadpool(
        lambda: requests_service.submit_request(
            _writing(request),
            viewer.principal,
            request_id,
            now=now_of(request),
            expected_version=version,
        )
    )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/withdraw", dependencies=[Depends(require_csrf)])
async def withdraw(
    request: Request, request_id: str, viewer: CurrentViewer, version: Annotated[int, Form(ge=1)]
) -> Response:
    await run_in_threadpool(
        lambda: requests_service.withdraw_request(
            _writing(request),
            viewer.principal,
            request_id,
            now=now_of(request),
            expected_version=version,
        )
    )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/return", dependencies=[Depends(require_csrf)])
async def send_back(
    request: Request, request_id: str, viewer: CurrentViewer,
    version: Annotated[int, Form(ge=1)], comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    await run_in_threadpool(
        lambda: requests_service.return_request(
            _writing(request),
            viewer.principal,
            request_id,
            comment,
            now=now_of(request),
            expected_version=version,
        )
    )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/combine", dependencies=[Depends(require_csrf)])
async def combine(
    request: Request, viewer: CurrentViewer,
    request_ids: Annotated[list[str], Form(alias="request", max_length=500)],
    network: Annotated[str, Form(min_length=1, max_length=64)],
    step: Annotated[str, Form(pattern="^(check|assemble)$")] = "check",
) -> Response:  # fmt: skip
    """Cross-check (nothing written) or assemble the ticked requests of one network."""
    if step == "assemble":
        made = await run_in_threadpool(
            combining.assemble,
            _writing(request),
            viewer.principal,
            network,
            request_ids,
            now=now_of(request),
        )
        return RedirectResponse(f"/requests/combined/{made.id}", status_code=303)

    def check() -> dict[str, Any]:
        conflicts = combining.check_requests(
            _reading(request), viewer.principal, network, request_ids
        )
        view = _list_view(request, viewer, None)
        return {**view, "conflicts": conflicts, "checked": request_ids, "checked_network": network}

    return render(request, "requests.html", **await run_in_threadpool(check))


def _combined_view(request: Request, viewer: Viewer, combined_id: str) -> dict[str, Any]:
    container = container_of(request)
    combined, members = combining.get_combined(_reading(request), viewer.principal, combined_id)
    principal = viewer.principal
    reviewing = principal.can(Action.APPROVE) and combined.state.value == "submitted"
    reviews = (
        review.review_combined(
            _reading(request),
            principal,
            combined_id,
            now=container.clock.now(),
            policy=container.policy,
        )
        if reviewing
        else []
    )
    lessons = {}
    for offer_id in {r.offer_id for r in reviews}:
        try:
            lessons[offer_id] = offers.get_offer(_reading(request), principal, offer_id).label()
        except NotFound:
            lessons[offer_id] = offer_id
    return {
        "combined": combined,
        "members": members,
        "lessons": lessons,
        "names": names_of(
            _reading(request),
            principal,
            [combined.network_id] + [m.school_id for m in members] + [r.school_id for r in reviews],
        ),
        "reviews": reviews,
        "reviewing": reviewing,
        "may_submit": principal.can(Action.COMBINE) and combined.state.value == "assembled",
    }


@router.get("/requests/combined/{combined_id}")
async def combined_detail(request: Request, combined_id: str, viewer: CurrentViewer) -> Response:
    view = await run_in_threadpool(_combined_view, request, viewer, combined_id)
    return render(request, "combined.html", **view)


@router.post("/requests/combined/{combined_id}/submit", dependencies=[Depends(require_csrf)])
async def submit_combined(
    request: Request, combined_id: str, viewer: CurrentViewer, version: Annotated[int, Form(ge=1)]
) -> Response:
    await run_in_threadpool(
        lambda: combining.submit_combined(
            _writing(request),
            viewer.principal,
            combined_id,
            now=now_of(request),
            expected_version=version,
        )
    )
    return RedirectResponse(f"/requests/combined/{combined_id}", status_code=303)


@router.post("/requests/combined/{combined_id}/approve", dependencies=[Depends(require_csrf)])
async def approve(request: Request, combined_id: str, viewer: CurrentViewer) -> Response:
    """Approve the ticked items; the others are refused with their reasons."""
    form = await request.form()
    version = str(form.get("version", ""))
    if not version.isdigit():
        raise InvalidInput("the page's version is missing", field="version")
    ticked = {str(i) for i in form.getlist("approve")}
    verdicts = [
        Verdict(str(item_id), str(item_id) in ticked, str(form.get(f"reason-{item_id}", ""))[:2000])
        for item_id in form.getlist("item")
    ]
    container = container_of(request)
    await run_in_threadpool(
        lambda: approval.approve_combined(
            _writing(request),
            viewer.principal,
            combined_id,
            verdicts,
            now=container.clock.now(),
            expected_version=int(version),
            policy=container.policy,
        )
    )
    return RedirectResponse(f"/requests/combined/{combined_id}", status_code=303)


@router.post("/requests/combined/{combined_id}/reject", dependencies=[Depends(require_csrf)])
async def reject(
    request: Request, combined_id: str, viewer: CurrentViewer,
    version: Annotated[int, Form(ge=1)], reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    await run_in_threadpool(
        lambda: approval.reject_combined(
            _writing(request),
            viewer.principal,
            combined_id,
            reason,
            now=now_of(request),
            expected_version=version,
        )
    )
    return RedirectResponse(f"/requests/combined/{combined_id}", status_code=303)
