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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Dialect, Executable, Row, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ClauseElement

from adapters.storage.collection import SqlRepository
from adapters.storage.sent_together import begin_reading, read_together
from adapters.storage.tables import idempotency_keys

ASYNC_COMMIT = "SET LOCAL synchronous_commit TO off"  # this transaction only
_KEY = ("principal", "key")
_COLUMNS = (
    "principal", "key", "method", "path", "request_hash", "status", "response_body",
    "response_headers", "created_at", "expires_at",
)  # fmt: skip


@cache
def _claim_statement(dialect: str) -> Executable:
    """The claim's upsert, built once per dialect (building and compiling it afresh cost
    more CPU than the rest of the claim): insert the key, or take over an expired record
    or an unanswered claim taken at or before `stale_before` (NULL: none is stale)."""
    t = idempotency_keys
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
    values = {name: bindparam(f"v_{name}", type_=t.c[name].type) for name in _COLUMNS}
    return (
        insert.values(values)
        .on_conflict_do_update(
            index_elements=[t.c.principal, t.c.key],
            set_={name: insert.excluded[name] for name in _COLUMNS if name not in _KEY},
            where=or_(
                t.c.expires_at <= bindparam("claimed_at", type_=t.c.created_at.type),
                and_(
                    t.c.status.is_(None),
                    t.c.created_at <= bindparam("stale_before", type_=t.c.created_at.type),
                ),
            ),
        )
        .returning(t.c.key)
    )


@cache
def _claim_sql(dialect: Dialect) -> tuple[str, dict[str, Callable[[Any], Any]]]:
    """The claim's upsert as the driver's SQL, and its parameters' conversions (what
    SQLAlchemy would apply): compiled once per dialect."""
    statement = _claim_statement(dialect.name)
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect)
    t = idempotency_keys
    typed = {f"v_{name}": t.c[name].type for name in _COLUMNS}
    typed |= {"claimed_at": t.c.created_at.type, "stale_before": t.c.created_at.type}
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, type_ in typed.items():
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return str(compiled), processors


def _claim_together(
    connection: Connection, values: dict[str, Any], *, commit: bool = False
) -> bool | None:
    """PostgreSQL, no transaction open yet: BEGIN, `SET LOCAL synchronous_commit` and the
    upsert in one round trip (`read_together`) — and, `commit`, the COMMIT too; whether
    the key was taken. None: the caller goes the ordinary way (SQLite, or a transaction
    already under way)."""
    if connection.dialect.name != "postgresql" or connection.in_transaction():
        return None
    sql, processors = _claim_sql(connection.dialect)
    parameters = {
        name: processors[name](value) if name in processors else value
        for name, value in values.items()
    }
    statements: list[tuple[str, Any]] = [(ASYNC_COMMIT, ()), (sql, parameters)]
    if commit:  # libpq then says the transaction is over: SQLAlchemy's commit sends nothing
        statements.append(("COMMIT", ()))
    rows = read_together(connection, statements)[1]
    return bool(rows)


def _claim_where() -> list[Any]:
    """The key's row — only the claim taken at `claimed_at`, unless that is NULL."""
    t = idempotency_keys
    at = bindparam("w_claimed_at", type_=t.c.created_at.type)
    return [
        t.c.principal == bindparam("w_principal"),
        t.c.key == bindparam("w_key"),
        or_(at.is_(None), t.c.created_at == at),
    ]


def _claim_of(principal: str, key: str, claimed_at: datetime | None) -> dict[str, Any]:
    return {"w_principal": principal, "w_key": key, "w_claimed_at": claimed_at}


@cache
def _answer_statement() -> Executable:
    t = idempotency_keys
    return (
        t.update()
        .where(*_claim_where())
        .values(
            status=bindparam("v_status"),
            response_body=bindparam("v_response_body"),
            response_headers=bindparam("v_response_headers", type_=t.c.response_headers.type),
        )
    )


@cache
def _forget_statement() -> Executable:
    return idempotency_keys.delete().where(*_claim_where())


@cache
def _renew_statement() -> Executable:
    t = idempotency_keys
    return (
        t.update()
        .where(*_claim_where(), t.c.status.is_(None))
        .values(created_at=bindparam("v_created_at", type_=t.c.created_at.type))
    )


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
        self,
        record: IdempotencyRecord,
        *,
        stale_before: datetime | None = None,
        at_once: bool = False,
    ) -> IdempotencyRecord | None:
        """Record a new key (in flight). Returns None if it was free (or expired, or held
        by an unanswered claim taken at or before `stale_before`: a lease run out), or
        the live record already holding it — then the caller replays or refuses.

        `at_once`: the claim is its unit of work's only write and is committed here, with
        its upsert in the same round trip when it is the unit's first statement
        (PostgreSQL); the caller's `commit()` then has nothing left to send."""
        values: dict[str, Any] = {
            "v_principal": record.principal,
            "v_key": record.key,
            "v_method": record.method,
            "v_path": record.path,
            "v_request_hash": record.request_hash,
            "v_status": None,
            "v_response_body": None,
            "v_response_headers": {},
            "v_created_at": record.created_at,
            "v_expires_at": record.expires_at,
            "claimed_at": record.created_at,
            "stale_before": stale_before,
        }
        # The claim's transaction commits without waiting for its WAL to reach the disk
        # (ADR 0021): the work's own commit, synchronous and later in the WAL, makes the
        # claim durable with it; a claim lost in a crash before that only frees its key.
        taken = _claim_together(self._connection, values, commit=at_once)
        if taken is None:  # not PostgreSQL, or a transaction already open
            begin_reading(self._connection, ASYNC_COMMIT)
            statement = _claim_statement(self._connection.dialect.name)
            taken = self._execute(statement, values).first() is not None
            if at_once:
                self._connection.commit()
        if taken:
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
        self._execute(
            _answer_statement(),
            {
                **_claim_of(principal, key, claimed_at),
                "v_status": status,
                "v_response_body": body,
                "v_response_headers": dict(headers or {}),
            },
        )

    def forget(self, principal: str, key: str, *, claimed_at: datetime | None = None) -> None:
        """Drop the key (only the claim taken at `claimed_at`, if given)."""
        self._execute(_forget_statement(), _claim_of(principal, key, claimed_at))

    def renew(self, principal: str, key: str, *, claimed_at: datetime, now: datetime) -> bool:
        """Extend a running request's lease: its claim is now taken at `now`. False if the
        claim is no longer this request's (answered, or taken over after its lease)."""
        parameters = {**_claim_of(principal, key, claimed_at), "v_created_at": now}
        result = self._execute(_renew_statement(), parameters)
        return int(result.rowcount) == 1

    def purge_expired(self, now: datetime) -> int:
        t = idempotency_keys
        return int(self._execute(t.delete().where(t.c.expires_at <= now)).rowcount)
