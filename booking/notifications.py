"""Notifications: what a notice (`booking.notices`) becomes for each person it reaches.

Every recipient gets the notice in their in-app **inbox** (always), and through the other
**channels** they chose for its kind — **e-mail** (to their address, through the SMTP
channel) and the **webhook** (the service's configured receiver). What leaves the process
is written to an **outbox** in the same transaction as the inbox row and delivered later
by a job, retried until it goes out: a mail server or a receiver that is down delays a
message, never loses it.

A **digest** stops a flood: once a person received `digest_after` non-urgent e-mails within
`digest_window`, the next non-urgent ones wait and go out together, in one e-mail, at the
end of the window. Urgent notices (a lesson degraded, a class that must change rooms) are
never held back.

**Deadlines** are set by the RCC ("combined requests for quarter 3 due by 2027-01-10") for
a scope and the roles whose turn it is; those people are reminded `remind_days` before,
once.

This module holds the records and rules; `NotificationStore` is the port (memory here, SQL
in `adapters/storage/notifications/`), `booking.services.notifying` the use cases.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from booking.access import Role


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    WEBHOOK = "webhook"


EVERY_KIND = "*"
"""The preference key that applies to every kind not named on its own."""

DEFAULT_CHANNELS: frozenset[Channel] = frozenset(Channel)
"""Without a preference a person hears through every channel (e-mail only with an address)."""


@dataclass
class InboxItem:
    """One notice in one person's inbox."""

    id: str
    user_id: str
    kind: str
    key: str  # the notice's key: a person hears a fact once
    title_ru: str
    title_en: str
    body_ru: str = ""
    body_en: str = ""
    link: str | None = None
    urgent: bool = False
    created_at: datetime | None = None
    read_at: datetime | None = None

    @property
    def read(self) -> bool:
        return self.read_at is not None


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at `due_at` (again after a failure)
    SENT = "sent"


@dataclass
class Delivery:
    """One message in the outbox: a notice to one person through e-mail or the webhook."""

    id: str
    user_id: str
    channel: Channel
    notification_id: str  # the inbox item it tells about
    kind: str
    address: str  # the e-mail address; "" for the webhook
    subject: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    digest: bool = False  # waits for the digest of its person (e-mail only)
    status: DeliveryStatus = DeliveryStatus.PENDING
    due_at: datetime | None = None
    created_at: datetime | None = None
    attempts: int = 0
    last_error: str = ""
    sent_at: datetime | None = None
    claimed_until: datetime | None = None


@dataclass
class Deadline:
    """The RCC's deadline for a kind of work in a period, in a scope, for some roles."""

    id: str
    kind: str  # what is due, e.g. "combined_request"
    period: str  # e.g. "2026/27, 3 четверть"
    due_on: date
    scope_org_id: str  # the organisation whose subtree must deliver
    roles: frozenset[Role]  # whose turn it is (every role when empty)
    remind_days: int  # remind this many days before `due_on`
    title: str = ""  # what people read, e.g. "Сводные заявки на 3 четверть"
    created_by: str = ""
    created_at: datetime | None = None
    reminded_at: datetime | None = None

    def remind_on(self) -> date:
        return self.due_on - timedelta(days=self.remind_days)

    def due_for_reminder(self, today: date) -> bool:
        """To be reminded today: the reminder day has come, the deadline has not passed,
        and nobody was reminded yet."""
        return self.reminded_at is None and self.remind_on() <= today <= self.due_on


@dataclass(frozen=True)
class DigestRule:
    after: int  # this many non-urgent e-mails within `window` go out one by one
    window: timedelta


def channels_for(preferences: Mapping[str, frozenset[Channel]], kind: str) -> frozenset[Channel]:
    """The channels a person hears `kind` through: its own preference, else the person's
    default (`*`), else every channel; the inbox always."""
    chosen = preferences.get(kind, preferences.get(EVERY_KIND, DEFAULT_CHANNELS))
    return chosen | {Channel.INBOX}


def check_kind(kind: str) -> str:
    from booking.errors import InvalidInput

    kind = kind.strip()
    if not kind or len(kind) > 64 or any(c.isspace() for c in kind):
        raise InvalidInput(f"a notice kind is a dotted name, not {kind!r}", field="kind")
    return kind


class NotificationStore(Protocol):
    """Inboxes, preferences, the outbox and deadlines (part of the unit of work)."""

    # inbox
    def add(self, item: InboxItem) -> bool:
        """Store the item unless its person already has one with its key; False then."""
        ...

    def get(self, id: str) -> InboxItem | None: ...

    def of_user(
        self, user_id: str, *, unread_only: bool = False, offset: int = 0, limit: int = 100
    ) -> Sequence[InboxItem]:
        """Newest first."""
        ...

    def count(self, user_id: str, *, unread_only: bool = False) -> int: ...

    def mark_read(self, user_id: str, ids: Iterable[str] | None, at: datetime) -> int:
        """Mark these (None: all) unread items of the person read; how many were."""
        ...

    # preferences
    def preferences(self, user_id: str) -> dict[str, frozenset[Channel]]: ...

    def set_preferences(self, user_id: str, chosen: Mapping[str, frozenset[Channel]]) -> None:
        """Replace the person's preferences."""
        ...

    # outbox
    def enqueue(self, deliveries: Sequence[Delivery]) -> None: ...

    def emails_since(self, user_id: str, since: datetime) -> int:
        """The person's non-urgent e-mails created at or after `since` (digest counting)."""
        ...

    def pending_digest_due(self, user_id: str) -> datetime | None:
        """When the person's digest waiting in the outbox goes out (None: none waits)."""
        ...

    def claim_due(self, now: datetime, hold: timedelta, limit: int = 100) -> list[Delivery]:
        """Pending deliveries due at `now`, claimed for `hold` (another worker skips them),
        oldest first."""
        ...

    def sent(self, ids: Iterable[str], at: datetime) -> None: ...

    def failed(self, id: str, retry_at: datetime, error: str) -> None:
        """Count a failed try, keep the error, try again at `retry_at`."""
        ...

    def deliveries(self, user_id: str | None = None) -> builtins.list[Delivery]:
        """The outbox (of one person), oldest first: what went out and what waits."""
        ...

    # deadlines
    def add_deadline(self, deadline: Deadline) -> None: ...

    def deadline(self, id: str) -> Deadline | None: ...

    def deadlines(self) -> builtins.list[Deadline]:
        """Every deadline, by due date."""
        ...

    def delete_deadline(self, id: str) -> None: ...

    def reminded(self, id: str, at: datetime) -> bool:
        """Mark the deadline reminded unless it already was (compare-and-set); True if
        this call did it."""
        ...


@dataclass
class NotificationData:
    inbox: dict[str, InboxItem] = field(default_factory=dict)
    preferences: dict[str, dict[str, frozenset[Channel]]] = field(default_factory=dict)
    outbox: dict[str, Delivery] = field(default_factory=dict)
    deadlines: dict[str, Deadline] = field(default_factory=dict)


class MemoryNotifications:
    """`NotificationStore` over plain dictionaries (a memory unit of work's copy)."""

    def __init__(self, data: NotificationData) -> None:
        self._data = data

    def add(self, item: InboxItem) -> bool:
        if any(i.user_id == item.user_id and i.key == item.key for i in self._data.inbox.values()):
            return False
        self._data.inbox[item.id] = copy.copy(item)
        return True

    def get(self, id: str) -> InboxItem | None:
        found = self._data.inbox.get(id)
        return copy.copy(found) if found else None

    def _mine(self, user_id: str, unread_only: bool) -> builtins.list[InboxItem]:
        found = [
            i
            for i in self._data.inbox.values()
            if i.user_id == user_id and not (unread_only and i.read)
        ]
        return sorted(found, key=lambda i: (i.created_at or datetime.min, i.id), reverse=True)

    def of_user(
        self, user_id: str, *, unread_only: bool = False, offset: int = 0, limit: int = 100
    ) -> Sequence[InboxItem]:
        return [copy.copy(i) for i in self._mine(user_id, unread_only)[offset : offset + limit]]

    def count(self, user_id: str, *, unread_only: bool = False) -> int:
        return len(self._mine(user_id, unread_only))

    def mark_read(self, user_id: str, ids: Iterable[str] | None, at: datetime) -> int:
        wanted = None if ids is None else set(ids)
        done = 0
        for item in self._data.inbox.values():
            if item.user_id == user_id and not item.read and (wanted is None or item.id in wanted):
                item.read_at = at
                done += 1
        return done

    def preferences(self, user_id: str) -> dict[str, frozenset[Channel]]:
        return dict(self._data.preferences.get(user_id, {}))

    def set_preferences(self, user_id: str, chosen: Mapping[str, frozenset[Channel]]) -> None:
        self._data.preferences[user_id] = dict(chosen)

    def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self._data.outbox[delivery.id] = copy.deepcopy(delivery)

    def emails_since(self, user_id: str, since: datetime) -> int:
        return sum(
            1
            for d in self._data.outbox.values()
            if d.user_id == user_id
            and d.channel is Channel.EMAIL
            and not d.urgent
            and d.created_at is not None
            and d.created_at >= since
        )

    def pending_digest_due(self, user_id: str) -> datetime | None:
        due = [
            d.due_at
            for d in self._data.outbox.values()
            if d.user_id == user_id
            and d.digest
            and d.status is DeliveryStatus.PENDING
            and d.attempts == 0
            and d.due_at is not None
        ]
        return min(due) if due else None

    def claim_due(self, now: datetime, hold: timedelta, limit: int = 100) -> list[Delivery]:
        due = sorted(
            (
                d
                for d in self._data.outbox.values()
                if d.status is DeliveryStatus.PENDING
                and d.due_at is not None
                and d.due_at <= now
                and (d.claimed_until is None or d.claimed_until <= now)
            ),
            key=lambda d: (d.due_at or now, d.created_at or now, d.id),
        )[:limit]
        for delivery in due:
            delivery.claimed_until = now + hold
        return [copy.deepcopy(d) for d in due]

    def sent(self, ids: Iterable[str], at: datetime) -> None:
        for id in ids:
            found = self._data.outbox.get(id)
            if found is not None:
                found.status, found.sent_at, found.claimed_until = DeliveryStatus.SENT, at, None
                found.attempts += 1

    def failed(self, id: str, retry_at: datetime, error: str) -> None:
        found = self._data.outbox.get(id)
        if found is not None:
            found.attempts += 1
            found.last_error, found.due_at, found.claimed_until = error, retry_at, None

    def deliveries(self, user_id: str | None = None) -> builtins.list[Delivery]:
        found = [d for d in self._data.outbox.values() if user_id in (None, d.user_id)]
        ordered = sorted(found, key=lambda d: (d.created_at or datetime.min, d.id))
        return [copy.deepcopy(d) for d in ordered]

    def add_deadline(self, deadline: Deadline) -> None:
        self._data.deadlines[deadline.id] = replace(deadline)

    def deadline(self, id: str) -> Deadline | None:
        found = self._data.deadlines.get(id)
        return replace(found) if found else None

    def deadlines(self) -> builtins.list[Deadline]:
        ordered = sorted(self._data.deadlines.values(), key=lambda d: (d.due_on, d.id))
        return [replace(d) for d in ordered]

    def delete_deadline(self, id: str) -> None:
        self._data.deadlines.pop(id, None)

    def reminded(self, id: str, at: datetime) -> bool:
        found = self._data.deadlines.get(id)
        if found is None or found.reminded_at is not None:
            return False
        found.reminded_at = at
        return True


def notices_ru(count: int) -> str:
    """«1 уведомление», «4 уведомления», «5 уведомлений»."""
    if count % 10 == 1 and count % 100 != 11:
        return f"{count} уведомление"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return f"{count} уведомления"
    return f"{count} уведомлений"


def digest_message(waiting: Sequence[Delivery]) -> tuple[str, str]:
    """One e-mail for the many notices that waited for a person's digest (oldest first)."""
    subject = f"[ВКС] Сводка: {notices_ru(len(waiting))} / {len(waiting)} notifications"
    parts = [f"Сводка: {notices_ru(len(waiting))}. Все они есть во входящих.", ""]
    for number, delivery in enumerate(waiting, 1):
        parts += [f"{number}. {delivery.data.get('title_ru') or delivery.subject}"]
        body = str(delivery.data.get("body_ru") or "")
        if body:
            parts += [f"   {line}" for line in body.splitlines()]
    parts += ["", "—", f"{len(waiting)} notifications; all of them are in your inbox:", ""]
    parts += [f"{n}. {d.data.get('title_en') or d.subject}" for n, d in enumerate(waiting, 1)]
    return subject, "\n".join(parts) + "\n"
