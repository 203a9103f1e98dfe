"""Invitations: a school taking part in a booking made outside its scope accepts or
declines it through its own people (whoever may book in its subtree). A decline frees
its terminal from the lessons still to come."""

from __future__ import annotations

from fastapi import APIRouter, Response

from booking.services import invitations
from vks.api.dependencies import Ctx
from vks.api.etags import set_etag
from vks.api.schemas.bookings import BookingOut
from vks.api.schemas.common import problem_responses

router = APIRouter(prefix="/bookings", tags=["bookings"])


def _answer(
    booking_id: str, school_id: str, ctx: Ctx, response: Response, accept: bool
) -> BookingOut:
    booking = invitations.answer_invitation(
        ctx.uow(), ctx.principal, booking_id, school_id, accept=accept, now=ctx.now
    )
    set_etag(response, booking.version)
    return BookingOut.of(booking)


@router.post(
    "/{booking_id}/invitations/{school_id}/accept",
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def accept_invitation(booking_id: str, school_id: str, ctx: Ctx, response: Response) -> BookingOut:
    """The invited school takes part: its participant becomes `confirmed`."""
    return _answer(booking_id, school_id, ctx, response, accept=True)


@router.post(
    "/{booking_id}/invitations/{school_id}/decline",
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def decline_invitation(booking_id: str, school_id: str, ctx: Ctx, response: Response) -> BookingOut:
    """The invited school does not take part: `declined`, its terminal freed."""
    return _answer(booking_id, school_id, ctx, response, accept=False)
