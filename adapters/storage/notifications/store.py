"""`booking.notifications.NotificationStore` on the unit of work's connection."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from adapters.storage.collection import SqlRepository
from adapters.storage.notifications.tables import (
    deadlines,
    notification_outbox,
    notification_preferences,
    notifications,
)
from booking.access import Role
from booking.notifications import Channel, Deadline, Delivery, DeliveryStatus, InboxItem


def _item(row: Row[Any]) -> InboxItem:
    return InboxItem(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        key=row.key,
        title_ru=row.title_ru,
        title_en=row.title_en,
        body_ru=row.body_ru,
        body_en=row.body_en,
        link=row.link,
        urgent=row.urgent,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        user_id=row.user_id,
        channel=Channel(row.channel),
        notification_id=row.notification_id,
        kind=row.kind,
        address=row.address,
        subject=row.subject,
        text=row.text,
        data=dict(row.data or {}),
        urgent=row.urgent,
        digest=row.digest,
        status=DeliveryStatus(row.status),
        due_at=row.due_at,
        created_at=row.created_at,
        attempts=row.attempts,
        last_error=row.last_error,
        sent_at=row.sent_at,
        claimed_until=row.claimed_until,
    )


def _deadline(row: Row[Any]) -> Deadline:
    return Deadline(
        id=row.id,
        kind=row.kind,
        period=row.period,
        due_on=row.due_on,
        scope_org_id=row.scope_org_id,
        roles=frozenset(Role(r) for r in row.roles.split(",") if r),
        remind_days=row.remind_days,
        title=row.title,
        created_by=row.created_by,
        created_at=row.created_at,
        reminded_at=row.reminded_at,
    )


class SqlNotifications(SqlRepository):
    noun = "notification"

    # --- inbox ---------------------------------------------------------------------------
    def add(self, item: InboxItem) -> bool:
        exists = select(notifications.c.id).where(
            notifications.c.user_id == item.user_id, notifications.c.key == item.key
        )
        if self._execute(exists).first() is not None:
            return False
        row = {
            "id": item.id,
            "user_id": item.user_id,
            "kind": item.kind,
            "key": item.key,
            "title_ru": item.title_ru,
            "title_en": item.title_en,
            "body_ru": item.body_ru,
            "body_en": item.body_en,
            "link": item.link,
            "urgent": item.urgent,
            "created_at": item.created_at,
            "read_at": item.read_at,
        }
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert(notifications), row)
        except IntegrityError:  # a concurrent handler stored the same fact first
            return False
        return True

    def get(self, id: str) -> InboxItem | None:
        row = self._execute(select(notifications).where(notifications.c.id == id)).first()
        return None if row is None else _item(row)

    @staticmethod
    def _mine(user_id: str, unread_only: bool) -> Any:
        where = notifications.c.user_id == user_id
        if unread_only:
            where = and_(where, notifications.c.read_at.is_(None))
        return where

    def of_user(
        self, user_id: str, *, unread_only: bool = False, offset: int = 0, limit: int = 100
    ) -> Sequence[InboxItem]:
        query = (
            select(notifications)
            .where(self._mine(user_id, unread_only))
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_item(row) for row in self._execute(query).all()]

    def count(self, user_id: str, *, unread_only: bool = False) -> int:
        query = select(func.count()).select_from(notifications)
        return int(self._execute(query.where(self._mine(user_id, unread_only))).scalar_one())

    def mark_read(self, user_id: str, ids: Iterable[str] | None, at: datetime) -> int:
        where = self._mine(user_id, True)
        if ids is not None:
            where = and_(where, notifications.c.id.in_(list(ids)))
        return int(self._execute(update(notifications).where(where).values(read_at=at)).rowcount)

    # --- preferences ---------------------------------------------------------------------
    def preferences(self, user_id: str) -> dict[str, frozenset[Channel]]:
        query = select(notification_preferences).where(
            notification_preferences.c.user_id == user_id
        )
        return {
            row.kind: frozenset(Channel(c) for c in row.channels.split(",") if c)
            for row in self._execute(query).all()
        }

    def set_preferences(self, user_id: str, chosen: Mapping[str, frozenset[Channel]]) -> None:
        table = notification_preferences
        self._execute(delete(table).where(table.c.user_id == user_id))
        rows = [
            {"user_id": user_id, "kind": kind, "channels": ",".join(sorted(channels))}
            for kind, channels in chosen.items()
        ]
        if rows:
            self._execute(insert(table), rows)

    # --- outbox --------------------------------------------------------------------------
    def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        rows = [
            {
                "id": d.id,
                "user_id": d.user_id,
                "channel": str(d.channel),
                "notification_id": d.notification_id,
                "kind": d.kind,
                "address": d.address,
                "subject": d.subject,
                "text": d.text,
                "data": d.data,
                "urgent": d.urgent,
                "digest": d.digest,
                "status": str(d.status),
                "due_at": d.due_at,
                "created_at": d.created_at,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "sent_at": d.sent_at,
                "claimed_until": d.claimed_until,
            }
            for d in deliveries
        ]
        self._execute(insert(notification_outbox), rows)

    def emails_since(self, user_id: str, since: datetime) -> int:
        box = notification_outbox
        query = (
            select(func.count())
            .select_from(box)
            .where(
                box.c.user_id == user_id,
                box.c.channel == str(Channel.EMAIL),
                box.c.urgent.is_(False),
                box.c.created_at >= since,
            )
        )
        return int(self._execute(query).scalar_one())

    def pending_digest_due(self, user_id: str) -> datetime | None:
        box = notification_outbox
        query = select(box.c.due_at).where(
            box.c.user_id == user_id,
            box.c.digest.is_(True),
            box.c.status == str(DeliveryStatus.PENDING),
            box.c.attempts == 0,
        )
        found = [row.due_at for row in self._execute(query).all()]
        return min(found) if found else None

    def claim_due(self, now: datetime, hold: timedelta, limit: int = 100) -> list[Delivery]:
        box = notification_outbox
        free = or_(box.c.claimed_until.is_(None), box.c.claimed_until <= now)
        due = and_(box.c.status == str(DeliveryStatus.PENDING), box.c.due_at <= now, free)
        query = (
            select(box).where(due).order_by(box.c.due_at, box.c.created_at, box.c.id).limit(limit)
        )
        if self._connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed: list[Delivery] = []
        for row in self._execute(query).all():
            taken = self._execute(
                update(box).where(box.c.id == row.id, due).values(claimed_until=now + hold)
            )
            if taken.rowcount == 1:
                claimed.append(_delivery(row))
        return claimed

    def sent(self, ids: Iterable[str], at: datetime) -> None:
        wanted = list(ids)
        if not wanted:
            return
        box = notification_outbox
        self._execute(
            update(box)
            .where(box.c.id.in_(wanted))
            .values(
                status=str(DeliveryStatus.SENT),
                sent_at=at,
                claimed_until=None,
                attempts=box.c.attempts + 1,
            )
        )

    def failed(self, id: str, retry_at: datetime, error: str) -> None:
        box = notification_outbox
        self._execute(
            update(box)
            .where(box.c.id == id)
            .values(
                attempts=box.c.attempts + 1,
                last_error=error,
                due_at=retry_at,
                claimed_until=None,
            )
        )

    def deliveries(self, user_id: str | None = None) -> builtins.list[Delivery]:
        box = notification_outbox
        query = select(box).order_by(box.c.created_at, box.c.id)
        if user_id is not None:
            query = query.where(box.c.user_id == user_id)
        return [_delivery(row) for row in self._execute(query).all()]

    # --- deadlines -----------------------------------------------------------------------
    def add_deadline(self, deadline: Deadline) -> None:
        self._execute(
            insert(deadlines),
            {
                "id": deadline.id,
                "kind": deadline.kind,
                "period": deadline.period,
                "due_on": deadline.due_on,
                "scope_org_id": deadline.scope_org_id,
                "roles": ",".join(sorted(deadline.roles)),
                "remind_days": deadline.remind_days,
                "title": deadline.title,
                "created_by": deadline.created_by,
                "created_at": deadline.created_at,
                "reminded_at": deadline.reminded_at,
            },
        )

    def deadline(self, id: str) -> Deadline | None:
        row = self._execute(select(deadlines).where(deadlines.c.id == id)).first()
        return None if row is None else _deadline(row)

    def deadlines(self) -> builtins.list[Deadline]:
        query = select(deadlines).order_by(deadlines.c.due_on, deadlines.c.id)
        return [_deadline(row) for row in self._execute(query).all()]

    def delete_deadline(self, id: str) -> None:
        self._execute(delete(deadlines).where(deadlines.c.id == id))

    def reminded(self, id: str, at: datetime) -> bool:
        statement = (
            update(deadlines)
            .where(deadlines.c.id == id, deadlines.c.reminded_at.is_(None))
            .values(reminded_at=at)
        )
        return int(self._execute(statement).rowcount) == 1
