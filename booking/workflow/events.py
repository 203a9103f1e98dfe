"""The workflow's domain events, recorded on the unit of work (`uow.record`) and published
after commit; `booking.workflow.notices` says whom each one concerns."""

from __future__ import annotations

from dataclasses import dataclass

from booking.events import Event


@dataclass(frozen=True)
class TimetablePublished(Event):
    """A network published (or republished) its timetable; `affected_offer_ids` changed or
    went away since the previous version."""

    timetable_id: str
    network_id: str
    version: int
    affected_offer_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchoolRequestEvent(Event):
    request_id: str
    school_id: str
    network_id: str


@dataclass(frozen=True)
class RequestSubmitted(SchoolRequestEvent):
    resubmitted: bool = False


@dataclass(frozen=True)
class RequestReturned(SchoolRequestEvent):
    comment: str = ""


@dataclass(frozen=True)
class RequestIncluded(SchoolRequestEvent):
    """The network administrator took the request into a combined request."""

    combined_id: str = ""


@dataclass(frozen=True)
class RequestWithdrawn(SchoolRequestEvent):
    pass


@dataclass(frozen=True)
class RequestDecided(SchoolRequestEvent):
    """The RCC decided: `state` is approved, partly_approved or rejected."""

    state: str = ""
    reason: str = ""


@dataclass(frozen=True)
class CombinedRequestSubmitted(Event):
    combined_id: str
    network_id: str
    request_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CombinedRequestDecided(Event):
    combined_id: str
    network_id: str
    state: str = ""


@dataclass(frozen=True)
class NeedInvitationSent(Event):
    invitation_id: str
    network_id: str  # the offering network, whose administrator answers
    school_id: str
    offer_id: str


@dataclass(frozen=True)
class NeedInvitationAnswered(Event):
    invitation_id: str
    network_id: str
    school_id: str
    offer_id: str
    accepted: bool
