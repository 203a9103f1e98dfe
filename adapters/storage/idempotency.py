"""Idempotency keys for the API: a POST repeated with the same `Idempotency-Key` gets the
first response again instead of doing the work twice.

A key belongs to one principal. `claim` records a key before the work starts (status
None: in flight) and tells a second request whether the key is new, still in flight, or
already answered; `complete` stores the response; `forget` drops a key whose request
failed so a retry may run; expired keys may be claimed afresh and are purged.

An in-flight claim is a lease: its `created_at` is when it was taken (or last renewed).
A claim older than the lease (its process died mid-request, `kill -9`, a lost machine)
is taken over by the next request with the key — one statement, so of two retries racing
for a dead claim exactly one takes it. `created_at` is also the claim's fencing token:
`complete`, `forget` and `renew` act only on the claim they took, so a request that was
merely slow and lost its lease cannot overwrite or drop its successor's claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, false, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.collection import SqlRepository
from adapters.storage.tables import idempotency_keys

_KEY = ("principal", "key")


@dataclass
class IdempotencyRecord:
    principal: str
    key: str
    method: str
    path: str
    request_hash: str  # of the request body: the same key with another body is an error
    created_at: datetime
    expires_at: datetime
    status: int | None = None  # None while the first request is still being served
    response_body: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def in_flight(self) -> bool:
        return self.status is None

    def matches(self, method: str, path: str, request_hash: str) -> bool:
        return (self.method, self.path, self.request_hash) == (method, path, request_hash)


def _record(row: Row[Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        principal=row.principal,
        key=row.key,
        method=row.method,
        path=row.path,
        request_hash=row.request_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=row.status,
        response_body=row.response_body,
        response_headers=dict(row.response_headers or {}),
    )


class SqlIdempotencyKeys(SqlRepository):
    def get(self, principal: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The live record of `key`, or None (never used, or expired)."""
        t = idempotency_keys
        query = select(t).where(t.c.principal == principal, t.c.key == key, t.c.expires_at > now)
        row = self._execute(query).first()
        return None if row is None else _record(row)

    def claim(
        self, record: IdempotencyRecord, *, stale_before: datetime | None = None
    ) -> IdempotencyRecord | None:
        """Record a new key (in flight). Returns None if it was free (or expired, or held
        by an unanswered claim taken at or before `stale_before`: a lease run out), or
        the live record already holding it — then the caller replays or refuses."""
        t = idempotency_keys
        values: dict[str, Any] = {
            "principal": record.principal,
            "key": record.key,
            "method": record.method,
            "path": record.path,
            "request_hash": record.request_hash,
            "status": None,
            "response_body": None,
            "response_headers": {},
            "created_at": record.created_at,
            "expires_at": record.expires_at,
        }
        dialect = self._connection.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
        statement = insert.values(values).on_conflict_do_update(
            index_elements=[t.c.principal, t.c.key],
            set_={name: insert.excluded[name] for name in values if name not in _KEY},
            where=or_(
                t.c.expires_at <= record.created_at,
                and_(t.c.status.is_(None), t.c.created_at <= stale_before)
                if stale_before is not None
                else false(),
            ),
        )
        if self._execute(statement.returning(t.c.key)).first() is not None:
            return None  # inserted, or an expired record replaced
        return self.get(record.principal, record.key, now=record.created_at)

    def complete(
        self,
        principal: str,
        key: str,
        *,
        status: int,
        body: str,
        headers: dict[str, str] | None = None,
        claimed_at: datetime | None = None,
    ) -> None:
        """Store the answer (of the claim taken at `claimed_at`, if given)."""
        t = idempotency_keys
        self._execute(
            t.update()
            .where(*self._claim(principal, key, claimed_at))
            .values(status=status, response_body=body, response_headers=dict(headers or {}))
        )

    def forget(self, principal: str, key: str, *, claimed_at: datetime | None = None) -> None:
        """Drop the key (only the claim taken at `claimed_at`, if given)."""
        t = idempotency_keys
        self._execute(t.delete().where(*self._claim(principal, key, claimed_at)))

    def renew(self, principal: str, key: str, *, claimed_at: datetime, now: datetime) -> bool:
        """Extend a running request's lease: its claim is now taken at `now`. False if the
        claim is no longer this request's (answered, or taken over after its lease)."""
        t = idempotency_keys
        claim = self._claim(principal, key, claimed_at)
        renewal = t.update().where(*claim, t.c.status.is_(None)).values(created_at=now)
        result = self._execute(renewal)
        return int(result.rowcount) == 1

    @staticmethod
    def _claim(principal: str, key: str, claimed_at: datetime | None) -> list[Any]:
        t = idempotency_keys
        where = [t.c.principal == principal, t.c.key == key]
        if claimed_at is not None:
            where.append(t.c.created_at == claimed_at)
        return where

    def purge_expired(self, now: datetime) -> int:
        t = idempotency_keys
        return int(self._execute(t.delete().where(t.c.expires_at <= now)).rowcount)
