"""The request workflow (seed 003, §3–4): offers, the network timetable, school requests,
combined requests, the RCC's review and decision, the search "from need" and its
invitations. Every rule is in `booking.services.workflow`; these routes translate."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request, Response, status

from booking.services.workflow import (
    approval,
    combining,
    need_search,
    offers,
    publishing,
    review,
    school_requests,
)
from booking.workflow.requests import RequestState
from booking.workflow.store import WorkflowUnitOfWork
from vks.api.dependencies import Ctx
from vks.api.etags import IfMatch, IfMatchOptional, set_etag
from vks.api.pagination import Paging, page
from vks.api.schemas.common import Id, Page, problem_responses
from vks.api.schemas.workflow import (
    AnsweredOut,
    AnswerIn,
    ApprovalOut,
    ApproveIn,
    CombinedOut,
    CombineIn,
    CommentIn,
    CrossConflictOut,
    InvitationIn,
    InvitationOut,
    ItemReviewOut,
    NeedMatchOut,
    NeedSearchIn,
    OfferIn,
    OfferOut,
    PublishIn,
    ReasonIn,
    RequestIn,
    RequestOut,
    TimetableOut,
)

router = APIRouter(prefix="/workflow", tags=["request workflow"])
READ = problem_responses(401, 403, 404)
WRITE = problem_responses(401, 403, 404, 409, 412, 422)


def _uow(ctx: Ctx) -> WorkflowUnitOfWork:
    """The container's unit of work carries the workflow store (SQL and memory alike)."""
    return cast(WorkflowUnitOfWork, ctx.uow())


def _offer(item: Any) -> OfferOut:
    return OfferOut.model_validate(item, from_attributes=True)


def _request(item: Any) -> RequestOut:
    return RequestOut.model_validate(item, from_attributes=True)


def _combined(item: Any) -> CombinedOut:
    return CombinedOut.model_validate(item, from_attributes=True)


# --- offers ---------------------------------------------------------------------------------
@router.post("/offers", status_code=201, response_model=OfferOut, responses=WRITE)
def create_offer(body: OfferIn, ctx: Ctx, response: Response) -> OfferOut:
    """A teacher's online lessons (by the teacher, for the host school, or the network)."""
    offer = offers.create_offer(_uow(ctx), ctx.principal, body.data())
    set_etag(response, offer.version)
    return _offer(offer)


@router.get("/offers", response_model=Page[OfferOut], responses=READ)
def list_offers(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    network_id: Id | None = None,
    mine: Annotated[bool, Query(description="only the caller's subtree")] = False,
) -> dict[str, Any]:
    found, total = offers.list_offers(
        _uow(ctx), ctx.principal, network_id=network_id, mine_only=mine,
        offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    return page(request, paging, [_offer(o) for o in found], total)


@router.get("/offers/{offer_id}", response_model=OfferOut, responses=READ)
def get_offer(offer_id: str, ctx: Ctx, response: Response) -> OfferOut:
    offer = offers.get_offer(_uow(ctx), ctx.principal, offer_id)
    set_etag(response, offer.version)
    return _offer(offer)


@router.put("/offers/{offer_id}", response_model=OfferOut, responses=WRITE)
def update_offer(
    offer_id: str, body: OfferIn, ctx: Ctx, response: Response, if_match: IfMatch
) -> OfferOut:
    """Change an offer (If-Match); republish the timetable to tell the schools."""
    offer = offers.update_offer(
        _uow(ctx), ctx.principal, offer_id, body.data(), expected_version=if_match
    )
    set_etag(response, offer.version)
    return _offer(offer)


# --- the network timetable ------------------------------------------------------------------
@router.post(
    "/networks/{network_id}/timetable", status_code=201, response_model=TimetableOut,
    responses=WRITE,
)  # fmt: skip
def publish_timetable(network_id: str, body: PublishIn, ctx: Ctx) -> TimetableOut:
    """Publish (a new version of) the network's timetable to its schools."""
    timetable = publishing.publish_timetable(
        _uow(ctx), ctx.principal, network_id, body.offer_ids, starts_on=body.starts_on,
        ends_on=body.ends_on, now=ctx.now,
    )  # fmt: skip
    return TimetableOut.model_validate(timetable, from_attributes=True)


@router.get("/networks/{network_id}/timetable", response_model=TimetableOut, responses=READ)
def get_timetable(network_id: str, ctx: Ctx) -> TimetableOut:
    timetable = publishing.get_timetable(_uow(ctx), ctx.principal, network_id)
    return TimetableOut.model_validate(timetable, from_attributes=True)


# --- school requests ------------------------------------------------------------------------
@router.post("/requests", status_code=201, response_model=RequestOut, responses=WRITE)
def create_request(body: RequestIn, ctx: Ctx, response: Response) -> RequestOut:
    """A draft request of a school: lessons of its network's timetable, and needs."""
    found = school_requests.create_request(_uow(ctx), ctx.principal, body.data(), policy=ctx.policy)
    set_etag(response, found.version)
    return _request(found)


@router.get("/requests", response_model=Page[RequestOut], responses=READ)
def list_requests(
    ctx: Ctx,
    paging: Paging,
    request: Request,
    network_id: Id | None = None,
    school_id: Id | None = None,
    state: RequestState | None = None,
) -> dict[str, Any]:
    found, total = school_requests.list_requests(
        _uow(ctx), ctx.principal, network_id=network_id, school_id=school_id,
        states=[state] if state else None, offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    return page(request, paging, [_request(r) for r in found], total)


@router.get("/requests/{request_id}", response_model=RequestOut, responses=READ)
def get_request(request_id: str, ctx: Ctx, response: Response) -> RequestOut:
    found = school_requests.get_request(_uow(ctx), ctx.principal, request_id)
    set_etag(response, found.version)
    return _request(found)


@router.put("/requests/{request_id}", response_model=RequestOut, responses=WRITE)
def edit_request(
    request_id: str, body: RequestIn, ctx: Ctx, response: Response, if_match: IfMatch
) -> RequestOut:
    """Replace a draft's (or a returned request's) lessons and needs (If-Match)."""
    found = school_requests.edit_request(
        _uow(ctx), ctx.principal, request_id, body.data(), expected_version=if_match,
        policy=ctx.policy,
    )  # fmt: skip
    set_etag(response, found.version)
    return _request(found)


@router.post("/requests/{request_id}/submit", response_model=RequestOut, responses=WRITE)
def submit_request(
    request_id: str, ctx: Ctx, response: Response, if_match: IfMatchOptional
) -> RequestOut:
    found = school_requests.submit_request(
        _uow(ctx), ctx.principal, request_id, now=ctx.now, expected_version=if_match
    )
    set_etag(response, found.version)
    return _request(found)


@router.post("/requests/{request_id}/return", response_model=RequestOut, responses=WRITE)
def return_request(
    request_id: str, body: CommentIn, ctx: Ctx, response: Response, if_match: IfMatchOptional
) -> RequestOut:
    """The network administrator sends it back to the school, with a comment."""
    found = school_requests.return_request(
        _uow(ctx),
        ctx.principal,
        request_id,
        body.comment,
        now=ctx.now,
        expected_version=if_match,
    )
    set_etag(response, found.version)
    return _request(found)


@router.post("/requests/{request_id}/withdraw", response_model=RequestOut, responses=WRITE)
def withdraw_request(
    request_id: str, ctx: Ctx, response: Response, if_match: IfMatchOptional
) -> RequestOut:
    found = school_requests.withdraw_request(
        _uow(ctx), ctx.principal, request_id, now=ctx.now, expected_version=if_match
    )
    set_etag(response, found.version)
    return _request(found)


# --- combined requests ----------------------------------------------------------------------
@router.post("/combined/check", response_model=list[CrossConflictOut], responses=WRITE)
def check_combined(body: CombineIn, ctx: Ctx) -> list[CrossConflictOut]:
    """The cross-check of requests before combining them (nothing is written)."""
    found = combining.check_requests(_uow(ctx), ctx.principal, body.network_id, body.request_ids)
    return [CrossConflictOut.model_validate(c, from_attributes=True) for c in found]


@router.post("/combined", status_code=201, response_model=CombinedOut, responses=WRITE)
def assemble(body: CombineIn, ctx: Ctx, response: Response) -> CombinedOut:
    """Combine submitted requests (409 with the cross-check's findings when they clash)."""
    combined = combining.assemble(
        _uow(ctx), ctx.principal, body.network_id, body.request_ids, now=ctx.now
    )
    set_etag(response, combined.version)
    return _combined(combined)


@router.get("/combined", response_model=Page[CombinedOut], responses=READ)
def list_combined(
    ctx: Ctx, paging: Paging, request: Request, state: str | None = None
) -> dict[str, Any]:
    found, total = combining.list_combined(
        _uow(ctx), ctx.principal, states=[state] if state else None, offset=paging.offset,
        limit=paging.limit,
    )  # fmt: skip
    return page(request, paging, [_combined(c) for c in found], total)


@router.get("/combined/{combined_id}", response_model=CombinedOut, responses=READ)
def get_combined(combined_id: str, ctx: Ctx, response: Response) -> CombinedOut:
    combined, _ = combining.get_combined(_uow(ctx), ctx.principal, combined_id)
    set_etag(response, combined.version)
    return _combined(combined)


@router.post("/combined/{combined_id}/submit", response_model=CombinedOut, responses=WRITE)
def submit_combined(
    combined_id: str, ctx: Ctx, response: Response, if_match: IfMatchOptional
) -> CombinedOut:
    combined = combining.submit_combined(
        _uow(ctx), ctx.principal, combined_id, now=ctx.now, expected_version=if_match
    )
    set_etag(response, combined.version)
    return _combined(combined)


@router.get("/combined/{combined_id}/review", response_model=list[ItemReviewOut], responses=READ)
def review_combined(combined_id: str, ctx: Ctx) -> list[ItemReviewOut]:
    """Per item: free on every date? the conflicts and the alternatives (the RCC)."""
    found = review.review_combined(
        _uow(ctx), ctx.principal, combined_id, now=ctx.now, policy=ctx.policy
    )
    return [ItemReviewOut.model_validate(r, from_attributes=True) for r in found]


def _approval(result: approval.Approval) -> ApprovalOut:
    return ApprovalOut(
        combined=_combined(result.combined),
        requests=[_request(r) for r in result.requests],
        bookings=result.bookings,
    )


@router.post("/combined/{combined_id}/approve", response_model=ApprovalOut, responses=WRITE)
def approve_combined(
    combined_id: str, body: ApproveIn, ctx: Ctx, response: Response, if_match: IfMatchOptional
) -> ApprovalOut:
    """Approve every item not refused in `verdicts`, in one transaction: 409 with the
    conflicts (nothing written) if an approved item is not free on every date."""
    result = approval.approve_combined(
        _uow(ctx), ctx.principal, combined_id, [v.verdict() for v in body.verdicts],
        now=ctx.now, reason=body.reason, expected_version=if_match, policy=ctx.policy,
    )  # fmt: skip
    set_etag(response, result.combined.version)
    return _approval(result)


@router.post("/combined/{combined_id}/reject", response_model=ApprovalOut, responses=WRITE)
def reject_combined(
    combined_id: str, body: ReasonIn, ctx: Ctx, response: Response, if_match: IfMatchOptional
) -> ApprovalOut:
    result = approval.reject_combined(
        _uow(ctx),
        ctx.principal,
        combined_id,
        body.reason,
        now=ctx.now,
        expected_version=if_match,
    )
    set_etag(response, result.combined.version)
    return _approval(result)


# --- from need ------------------------------------------------------------------------------
@router.post("/needs/search", response_model=list[NeedMatchOut], responses=WRITE)
def search_needs(body: NeedSearchIn, ctx: Ctx) -> list[NeedMatchOut]:
    """Every network's offers that fit the need in both schools' clocks, best first."""
    found = need_search.search_needs(
        _uow(ctx), ctx.principal, body.school_id, body.need.need(), limit=body.limit,
        policy=ctx.policy,
    )  # fmt: skip
    return [NeedMatchOut.model_validate(m, from_attributes=True) for m in found]


@router.post(
    "/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationOut,
    responses=WRITE,
)  # fmt: skip
def invite(body: InvitationIn, ctx: Ctx) -> InvitationOut:
    found = need_search.invite(
        _uow(ctx), ctx.principal, body.offer_id, body.school_id, body.need.need(),
        class_name=body.class_name, pupils=body.pupils, now=ctx.now,
    )  # fmt: skip
    return InvitationOut.model_validate(found, from_attributes=True)


@router.get("/invitations", response_model=Page[InvitationOut], responses=READ)
def list_invitations(ctx: Ctx, paging: Paging, request: Request) -> dict[str, Any]:
    found, total = need_search.list_invitations(
        _uow(ctx), ctx.principal, offset=paging.offset, limit=paging.limit
    )
    items = [InvitationOut.model_validate(i, from_attributes=True) for i in found]
    return page(request, paging, items, total)


def _answer(invitation_id: str, body: AnswerIn, ctx: Ctx, accept: bool) -> AnsweredOut:
    invitation, filed = need_search.answer_invitation(
        _uow(ctx), ctx.principal, invitation_id, accept=accept, answer=body.answer,
        now=ctx.now, policy=ctx.policy,
    )  # fmt: skip
    return AnsweredOut(
        invitation=InvitationOut.model_validate(invitation, from_attributes=True),
        request=_request(filed) if filed else None,
    )


@router.post("/invitations/{invitation_id}/accept", response_model=AnsweredOut, responses=WRITE)
def accept_invitation(invitation_id: str, body: AnswerIn, ctx: Ctx) -> AnsweredOut:
    """The offering network takes the school in: its request is filed, submitted."""
    return _answer(invitation_id, body, ctx, accept=True)


@router.post("/invitations/{invitation_id}/decline", response_model=AnsweredOut, responses=WRITE)
def decline_invitation(invitation_id: str, body: AnswerIn, ctx: Ctx) -> AnsweredOut:
    return _answer(invitation_id, body, ctx, accept=False)
