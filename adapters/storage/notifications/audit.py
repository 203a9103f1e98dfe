"""`booking.audit.AuditLog` on the unit of work's connection: rows are only inserted, as a
few-row write (ADR 0005/0019: on PostgreSQL it waits in the unit of work's pipeline and goes
with the change it records — no round trip of its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select, true

from adapters.storage.bulk import write_rows
from adapters.storage.collection import SqlRepository
from adapters.storage.errors import domain_errors
from adapters.storage.notifications.tables import audit_log
from adapters.storage.organisations import in_subtree
from booking.audit import AuditEntry, AuditFilter


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        org_path=row.org_path,
        summary=row.summary,
        details=dict(row.details or {}),
    )


def _where(where: AuditFilter) -> ColumnElement[bool]:
    c = audit_log.c
    parts: list[ColumnElement[bool]] = [true()]
    if where.org_path is not None:
        parts.append(in_subtree(c.org_path, where.org_path))
    if where.since is not None:
        parts.append(c.at >= where.since)
    if where.until is not None:
        parts.append(c.at < where.until)
    if where.actor_id is not None:
        parts.append(c.actor_id == where.actor_id)
    if where.object_id is not None:
        parts.append(c.object_id == where.object_id)
    if where.action is not None:
        parts.append(c.action == where.action)
    return and_(*parts)


AUDIT_COLUMNS = ("id", "at", "actor_id", "actor_role", "action", "object_type", "object_id",
                 "org_path", "summary", "details")  # fmt: skip


class SqlAuditLog(SqlRepository):
    noun = "audit entry"

    def append(self, entry: AuditEntry) -> None:
        row = (
            entry.id,
            entry.at,
            entry.actor_id,
            entry.actor_role,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.org_path,
            entry.summary,
            entry.details,
        )
        with domain_errors():
            write_rows(self._connection, audit_log, AUDIT_COLUMNS, [row])

    def search(
        self, where: AuditFilter, *, offset: int = 0, limit: int = 100
    ) -> Sequence[AuditEntry]:
        query = (
            select(audit_log)
            .where(_where(where))
            .order_by(audit_log.c.at, audit_log.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [_entry(row) for row in self._execute(query).all()]

    def count(self, where: AuditFilter) -> int:
        query = select(func.count()).select_from(audit_log).where(_where(where))
        return int(self._execute(query).scalar_one())
