"""The workflow's steps told twice in one unit of work: as a domain event (published after
commit, for the notices) and as an entry of the audit trail (who did it, when, on what),
written with the change itself."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from booking import audit as audit_log
from booking.access import Principal
from booking.events import Event
from booking.services.auditing import audit
from booking.workflow.events import (
    CombinedRequestDecided,
    CombinedRequestSubmitted,
    NeedInvitationAnswered,
    NeedInvitationSent,
    RequestDecided,
    RequestIncluded,
    RequestReturned,
    RequestSubmitted,
    RequestWithdrawn,
    SchoolRequestEvent,
    TimetablePublished,
)
from booking.workflow.store import WorkflowUnitOfWork

ACTIONS: dict[type[Event], str] = {
    TimetablePublished: audit_log.TIMETABLE_PUBLISHED,
    RequestSubmitted: audit_log.REQUEST_SUBMITTED,
    RequestReturned: audit_log.REQUEST_RETURNED,
    RequestWithdrawn: audit_log.REQUEST_WITHDRAWN,
    RequestIncluded: audit_log.REQUEST_INCLUDED,
    RequestDecided: audit_log.REQUEST_DECIDED,
    CombinedRequestSubmitted: audit_log.COMBINED_SUBMITTED,
    CombinedRequestDecided: audit_log.COMBINED_DECIDED,
    NeedInvitationSent: audit_log.NEED_INVITATION_SENT,
    NeedInvitationAnswered: audit_log.NEED_INVITATION_ANSWERED,
}
"""The audit trail's action for each step (its words: `booking.audit.ACTION_WORDS`)."""


def told(uow: WorkflowUnitOfWork, principal: Principal, event: Event, *, now: datetime) -> None:
    """Record `event` on the unit of work and the principal's step in the audit trail."""
    uow.record(event)
    action = ACTIONS.get(type(event), "workflow." + type(event).__name__)
    object_type, object_id, org_id = _subject(event)
    org = uow.organisations.get(org_id) if org_id else None
    audit(
        uow,
        principal,
        action,
        object_type,
        object_id,
        org.path if org is not None else "",
        now=now,
        summary=type(event).__name__,
        details={k: v if not isinstance(v, tuple) else list(v) for k, v in asdict(event).items()},
    )


def _subject(event: Event) -> tuple[str, str, str]:
    """(object type, object id, organisation whose subtree sees the entry)."""
    if isinstance(event, SchoolRequestEvent):
        return "school_request", event.request_id, event.school_id
    if isinstance(event, (CombinedRequestSubmitted, CombinedRequestDecided)):
        return "combined_request", event.combined_id, event.network_id
    if isinstance(event, (NeedInvitationSent, NeedInvitationAnswered)):
        return "need_invitation", event.invitation_id, event.school_id
    if isinstance(event, TimetablePublished):
        return "timetable", event.timetable_id, event.network_id
    return "workflow", "", ""
