"""The recorded feed and service-account tokens (`issued_tokens`). Reads by `jti` come
from this process's copy while the database's "tokens" counter is unchanged
(`reference_cache`), so checking a token on each request costs no extra query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, or_, select

from adapters.storage.collection import SqlCollection
from adapters.storage.tables import issued_tokens
from booking.tokens import IssuedToken


class SqlIssuedTokens(SqlCollection[IssuedToken]):
    table = issued_tokens
    noun = "token"

    def to_row(self, item: IssuedToken) -> dict[str, Any]:
        return {
            "id": item.id,
            "user_id": item.user_id,
            "scope": item.scope,
            "name": item.name,
            "created_at": item.created_at,
            "expires_at": item.expires_at,
            "revoked_at": item.revoked_at,
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> IssuedToken:
        return IssuedToken(
            id=row.id,
            user_id=row.user_id,
            scope=row.scope,
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            version=row.version,
        )

    def of_user(self, user_id: str | None) -> Sequence[IssuedToken]:
        query = select(issued_tokens)
        if user_id is not None:
            query = query.where(issued_tokens.c.user_id == user_id)
        query = query.order_by(issued_tokens.c.created_at, issued_tokens.c.id)
        return [self._load(row) for row in self._execute(query).all()]

    def delete_ended_before(self, moment: datetime) -> int:
        # looked up first: on PostgreSQL the tokens' change counter is bumped per statement,
        # and a DELETE of nothing every sweep would make every process reload its tokens
        ended = or_(issued_tokens.c.expires_at < moment, issued_tokens.c.revoked_at < moment)
        ids = list(self._execute(select(issued_tokens.c.id).where(ended)).scalars())
        if not ids:
            return 0
        self._writing()
        self._execute(delete(issued_tokens).where(issued_tokens.c.id.in_(ids)))
        return len(ids)
