"""From request items to booking requests: the schools joining one offer take part in one
lesson, so the items of one offer become one booking (host + every joining school)."""

from __future__ import annotations

from collections.abc import Sequence

from booking.bookings import Participant
from booking.services.plans import BookingRequest
from booking.workflow.offers import Offer
from booking.workflow.requests import RequestItem, SchoolRequest

Joined = tuple[SchoolRequest, RequestItem]


def booking_request(offer: Offer, joined: Sequence[Joined]) -> BookingRequest:
    participants = [
        Participant(offer.host_school_id, offer.host_terminal_id, offer.camera_preset or "teacher")
    ]
    for request, item in joined:
        participants.append(
            Participant(request.school_id, item.terminal_id, "class", item.class_name)
        )
    return BookingRequest(
        title=offer.label(),
        kind=offer.kind,
        host_school_id=offer.host_school_id,
        teacher=offer.teacher,
        participants=participants,
        owner_org_id=offer.network_id,
        platform=offer.platform,
        expected_participants=sum(item.pupils for _, item in joined) + len(participants),
        subject=offer.subject,
        recurrence=offer.recurrence,
    )
