"""The audit trail's use cases: appending an entry with a change (`audit`, inside the
change's unit of work), recording an operator's action on a lesson or an alert
(`record_action`, when the change itself is stored elsewhere — the automation's and the
monitor's stores), and reading the trail by scope (`audit_page`, `audit_entries`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from booking.access import Action, Principal, authorize, scope_of
from booking.audit import LESSON_OPERATED, TIMETABLE_LOADED, AuditEntry, AuditFilter
from booking.bookings import Booking
from booking.errors import InvalidInput
from booking.paging import Page, check_page
from booking.repository import UnitOfWork

MAX_EXPORT = 100_000  # rows of one CSV export


def audit(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str,
    org_path: str,
    *,
    now: datetime,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry to the trail in `uow` (committed, or rolled back, with the change)."""
    entry = AuditEntry(
        id=uuid.uuid4().hex,
        at=now,
        actor_id=principal.user_id,
        actor_role=str(principal.role),
        action=action,
        object_type=object_type,
        object_id=object_id,
        org_path=org_path,
        summary=summary,
        details=details or {},
    )
    uow.audit.append(entry)
    return entry


def owner_path(uow: UnitOfWork, booking: Booking) -> str:
    """Where a booking's entries belong: its owner organisation's path."""
    owner = uow.organisations.get(booking.owner_org_id)
    return owner.path if owner is not None else ""


def audit_booking(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    booking: Booking,
    *,
    now: datetime,
    summary: str = "",
    object_type: str = "booking",
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry about a booking (or one of its occurrences, `object_id`)."""
    return audit(
        uow,
        principal,
        action,
        object_type,
        object_id or booking.id,
        owner_path(uow, booking),
        now=now,
        summary=summary or f"«{booking.title}»",
        details={"booking_id": booking.id, **(details or {})},
    )


def record_action(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    *,
    now: datetime,
    occurrence_id: str | None = None,
    object_type: str = "occurrence",
    object_id: str | None = None,
    org_path: str = "",
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record (and commit) what an operator did where the change itself is stored by
    another store: on a lesson (start now, end, redial, hang up, presets: its booking's
    owner is the scope) or on a device or alert (`org_path` given)."""
    with uow:
        path = org_path
        if occurrence_id is not None:
            occurrence = uow.occurrences.get(occurrence_id)
            booking = uow.bookings.get(occurrence.booking_id) if occurrence else None
            if booking is not None:
                path = owner_path(uow, booking)
                summary = summary or f"«{booking.title}»"
                details = {"booking_id": booking.id, **(details or {})}
        entry = audit(
            uow,
            principal,
            action,
            object_type,
            object_id or occurrence_id or "",
            path,
            now=now,
            summary=summary,
            details=details,
        )
        uow.commit()
        return entry


def audit_load(
    uow: UnitOfWork, principal: Principal, counts: dict[str, int], *, now: datetime
) -> AuditEntry | None:
    """One entry for a whole timetable load (an import or an upsert of many bookings),
    with how many bookings it created and updated; none when it changed nothing."""
    changed = {k: v for k, v in counts.items() if v}
    if not changed:
        return None
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(changed.items()))
    return audit(
        uow, principal, TIMETABLE_LOADED, "timetable", principal.org_id, principal.org_path,
        now=now, summary=summary, details=changed,
    )  # fmt: skip


def operated(action: str) -> str:
    """The entry kind of an operator's action on a lesson (`lesson.operated` family)."""
    return f"{LESSON_OPERATED}.{action}"


def _scoped(principal: Principal, where: AuditFilter) -> AuditFilter:
    authorize(principal, Action.READ_AUDIT)
    if where.since and where.until and where.until <= where.since:
        raise InvalidInput("the period ends before it starts", field="until")
    scope = scope_of(principal)
    if scope is None:
        return where
    asked = where.org_path
    if asked is not None and (asked == scope or asked.startswith(scope + "/")):
        return where  # a narrower part of the caller's subtree
    return replace(where, org_path=scope)


def audit_page(
    uow: UnitOfWork, principal: Principal, where: AuditFilter, *, offset: int, limit: int
) -> Page[AuditEntry]:
    """One page of the trail the caller may read (its subtree; the RCC all), oldest first."""
    check_page(offset, limit)
    scoped = _scoped(principal, where)
    with uow:
        found = uow.audit.search(scoped, offset=offset, limit=limit)
        return Page(items=list(found), total=uow.audit.count(scoped))


def audit_entries(uow: UnitOfWork, principal: Principal, where: AuditFilter) -> list[AuditEntry]:
    """Every entry the caller may read (for the CSV export; at most `MAX_EXPORT`)."""
    scoped = _scoped(principal, where)
    with uow:
        return list(uow.audit.search(scoped, offset=0, limit=MAX_EXPORT))
