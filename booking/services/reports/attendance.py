"""Attendance from people: the tutor or the school coordinator records the pupils present
(and, where the school wants it, the absent by name) in their school's class of a lesson —
from the lesson's start on, until the month is closed — and reads a lesson's attendance:
per school, the minutes its class was in the room (the platform) and the pupils recorded
(people)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from booking.access import Action, Principal, authorize, visible
from booking.bookings import Booking, Occurrence, ParticipantState
from booking.errors import Conflict, InvalidInput, NotFound
from booking.reports_store import PupilRecord, ReportStore
from booking.repository import UnitOfWork
from booking.services.reports.months import month_of

MAX_PUPILS = 500  # a class in the room, or a hall of them: more is a typing slip
MAX_NAME = 200


class MonthClosed(Conflict):
    code = "month_closed"


@dataclass(frozen=True)
class PupilsPresent:
    present: int
    absent: Sequence[str] = ()


def _lesson(uow: UnitOfWork, occurrence_id: str) -> tuple[Occurrence, Booking]:
    occurrence = uow.occurrences.get(occurrence_id)
    booking = uow.bookings.get(occurrence.booking_id) if occurrence is not None else None
    if occurrence is None or booking is None:
        raise NotFound(f"unknown occurrence {occurrence_id}", occurrence_id=occurrence_id)
    return occurrence, booking


def _takes_part(booking: Booking, school_id: str) -> bool:
    return school_id == booking.host_school_id or any(
        p.school_id == school_id and p.state != ParticipantState.DECLINED
        for p in booking.participants
    )


def record_pupils(
    uow: UnitOfWork,
    store: ReportStore,
    principal: Principal,
    occurrence_id: str,
    school_id: str,
    pupils: PupilsPresent,
    *,
    now: datetime,
) -> PupilRecord:
    """Record (or correct) the pupils of `school_id`'s class present at a lesson."""
    if not 0 <= pupils.present <= MAX_PUPILS:
        raise InvalidInput(
            f"pupils present must be between 0 and {MAX_PUPILS}, not {pupils.present}",
            field="present",
        )
    absent = tuple(name.strip() for name in pupils.absent)
    if any(not name or len(name) > MAX_NAME for name in absent):
        raise InvalidInput(
            f"each absent pupil needs a name of 1 to {MAX_NAME} characters", field="absent"
        )
    with uow:
        occurrence, booking = _lesson(uow, occurrence_id)
        school = uow.organisations.get(school_id)
    if school is None or not _takes_part(booking, school_id):
        raise NotFound(
            f"{school_id} takes no part in occurrence {occurrence_id}",
            occurrence_id=occurrence_id,
            school_id=school_id,
        )
    authorize(principal, Action.RECORD_ATTENDANCE, [school])
    if occurrence.cancelled:
        raise Conflict(f"occurrence {occurrence_id} is cancelled: nobody attended it")
    if now < occurrence.start:
        raise Conflict(
            f"occurrence {occurrence_id} has not begun: pupils are recorded from its start"
            f" ({occurrence.start.isoformat()})",
            occurrence_id=occurrence_id,
        )
    month = month_of(occurrence.local_date)
    closed = store.closed_months_over(school.path, month)
    if closed:
        raise MonthClosed(
            f"{month} is closed for {closed[0].org_id}: attendance can no longer change"
            " (the RCC may reopen the month)",
            month=month,
            org_id=closed[0].org_id,
        )
    record = PupilRecord(
        occurrence_id, school_id, school.path, month, pupils.present, absent, principal.user_id, now
    )
    store.record_pupils(record)
    return record


def lesson_attendance(
    uow: UnitOfWork, store: ReportStore, principal: Principal, occurrence_id: str
) -> dict[str, Any]:
    """A lesson's attendance per school the caller may see: minutes in the room, pupils
    recorded, and the lesson's attendance (classes connected × pupils recorded); the most
    people in the room by its web link at once is on the host school's row."""
    with uow:
        occurrence, booking = _lesson(uow, occurrence_id)
        school_ids = [booking.host_school_id] + [p.school_id for p in booking.participants]
        orgs = uow.organisations.get_many(school_ids)
    seen = {s: o for s, o in orgs.items() if visible(principal, o)}
    authorize(principal, Action.READ_REPORTS, [] if seen else list(orgs.values())[:1])
    rows: list[dict[str, Any]] = []
    for row in store.school_lessons(occurrence_id):
        if row.school_id not in seen:
            continue
        rows.append(
            {
                "school_id": row.school_id,
                "school": seen[row.school_id].name,
                "outcome": row.kind,
                "minutes_present": row.present_s // 60,
                "connected": row.present_s > 0,
                "pupils_present": row.pupils_present,
                "pupils_absent": list(row.pupils_absent),
                "recorded_by": row.recorded_by,
                "recorded_at": row.recorded_at.isoformat() if row.recorded_at else None,
                "joined_by_link": row.joined_by_link,
            }
        )
    connected = [r for r in rows if r["connected"]]
    pupils = sum(r["pupils_present"] or 0 for r in connected)
    return {
        "occurrence_id": occurrence.id,
        "start": occurrence.start.isoformat(),
        "title": booking.title,
        "schools": rows,
        "classes_connected": len(connected),
        "pupils": pupils,
        "joined_by_link": sum(r["joined_by_link"] for r in rows),
    }
