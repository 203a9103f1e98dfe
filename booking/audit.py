"""The audit trail: who did what, to what, and when — append-only.

A service that changes something on behalf of a principal appends an `AuditEntry` in the
same unit of work as the change, so the trail holds exactly the changes that were stored
(a rolled-back change leaves no entry, a stored one always has its entry). Entries are
never edited or deleted.

Each entry carries the path of the organisation the object belongs to (a booking's
owner), so the trail is read by scope: the RCC reads all of it, a municipal coordinator
the entries of their subtree (`booking.access.Action.READ_AUDIT`).
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# the kinds of entries (`AuditEntry.action`)
BOOKING_CREATED = "booking.created"
BOOKING_EDITED = "booking.edited"
BOOKING_CANCELLED = "booking.cancelled"
BOOKING_HOLD_CONFIRMED = "booking.hold_confirmed"
INVITATION_ANSWERED = "booking.invitation_answered"
OCCURRENCE_MOVED = "occurrence.moved"
OCCURRENCE_CANCELLED = "occurrence.cancelled"
OCCURRENCE_TEACHER = "occurrence.teacher_substituted"
LESSON_OPERATED = "lesson.operated"  # start now, end now, redial, hang up, preset…
TIMETABLE_LOADED = "timetable.loaded"  # a scheduler's import or upsert: one entry per call
ALERT_ACKNOWLEDGED = "alert.acknowledged"
DEADLINE_SET = "deadline.set"
DEADLINE_DELETED = "deadline.deleted"
# the request workflow's steps (booking.services.workflow.trail)
TIMETABLE_PUBLISHED = "workflow.timetable_published"
REQUEST_SUBMITTED = "workflow.request_submitted"
REQUEST_RETURNED = "workflow.request_returned"
REQUEST_WITHDRAWN = "workflow.request_withdrawn"
REQUEST_INCLUDED = "workflow.request_included"
REQUEST_DECIDED = "workflow.request_decided"
COMBINED_SUBMITTED = "workflow.combined_submitted"
COMBINED_DECIDED = "workflow.combined_decided"
NEED_INVITATION_SENT = "workflow.need_invitation_sent"
NEED_INVITATION_ANSWERED = "workflow.need_invitation_answered"

ACTION_WORDS: dict[str, str] = {
    BOOKING_CREATED: "создано бронирование",
    BOOKING_EDITED: "изменено бронирование",
    BOOKING_CANCELLED: "отменено бронирование",
    BOOKING_HOLD_CONFIRMED: "подтверждено предварительное бронирование",
    INVITATION_ANSWERED: "ответ на приглашение",
    OCCURRENCE_MOVED: "урок перенесён",
    OCCURRENCE_CANCELLED: "урок отменён",
    OCCURRENCE_TEACHER: "замена учителя",
    LESSON_OPERATED: "действие оператора на уроке",
    TIMETABLE_LOADED: "загружено расписание",
    ALERT_ACKNOWLEDGED: "оповещение подтверждено",
    DEADLINE_SET: "установлен срок",
    DEADLINE_DELETED: "срок удалён",
    TIMETABLE_PUBLISHED: "опубликовано сетевое расписание",
    REQUEST_SUBMITTED: "заявка школы отправлена",
    REQUEST_RETURNED: "заявка школы возвращена",
    REQUEST_WITHDRAWN: "заявка школы отозвана",
    REQUEST_INCLUDED: "заявка школы включена в сводную",
    REQUEST_DECIDED: "решение по заявке школы",
    COMBINED_SUBMITTED: "сводная заявка отправлена в РКЦ",
    COMBINED_DECIDED: "решение РКЦ по сводной заявке",
    NEED_INVITATION_SENT: "приглашение по потребности",
    NEED_INVITATION_ANSWERED: "ответ на приглашение по потребности",
}
"""What people read for each kind (Russian; the CSV's «Действие» column)."""


@dataclass
class AuditEntry:
    id: str
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    object_type: str  # booking | occurrence | terminal | alert | deadline
    object_id: str
    org_path: str  # where the object belongs ("" for region-wide things)
    summary: str = ""  # what changed, in words
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditFilter:
    """What to read: everything of `org_path`'s subtree (None: the region), within
    [since, until), of one actor, one object, one kind — each optional."""

    org_path: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor_id: str | None = None
    object_id: str | None = None
    action: str | None = None

    def keeps(self, entry: AuditEntry) -> bool:
        path = self.org_path
        return (
            (path is None or entry.org_path == path or entry.org_path.startswith(path + "/"))
            and (self.since is None or entry.at >= self.since)
            and (self.until is None or entry.at < self.until)
            and (self.actor_id is None or entry.actor_id == self.actor_id)
            and (self.object_id is None or entry.object_id == self.object_id)
            and (self.action is None or entry.action == self.action)
        )


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> None: ...

    def search(
        self, where: AuditFilter, *, offset: int = 0, limit: int = 100
    ) -> Sequence[AuditEntry]:
        """Entries kept by `where`, oldest first (by time, then id)."""
        ...

    def count(self, where: AuditFilter) -> int: ...


class MemoryAuditLog:
    def __init__(self, entries: builtins.list[AuditEntry]) -> None:
        self._entries = entries

    def append(self, entry: AuditEntry) -> None:
        self._entries.append(copy.deepcopy(entry))

    def _found(self, where: AuditFilter) -> builtins.list[AuditEntry]:
        kept = [e for e in self._entries if where.keeps(e)]
        return sorted(kept, key=lambda e: (e.at, e.id))

    def search(
        self, where: AuditFilter, *, offset: int = 0, limit: int = 100
    ) -> Sequence[AuditEntry]:
        return [copy.deepcopy(e) for e in self._found(where)[offset : offset + limit]]

    def count(self, where: AuditFilter) -> int:
        return len(self._found(where))
