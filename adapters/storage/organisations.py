"""Organisations (the region tree) and users."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, or_, select

from adapters.storage.collection import SqlCollection
from adapters.storage.reference_cache import kept
from adapters.storage.tables import organisations, users
from booking.access import Role
from booking.organisations import CalendarKey, Organisation, OrgKind, calendar_groups
from booking.users import User


def in_subtree(path_column: Any, path: str) -> ColumnElement[bool]:
    """`path_column` is `path` itself or lies beneath it (a prefix test, LIKE-escaped)."""
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(path_column == path, path_column.like(escaped + "/%", escape="\\"))


class SqlOrganisations(SqlCollection[Organisation]):
    table = organisations
    noun = "organisation"

    def to_row(self, item: Organisation) -> dict[str, Any]:
        return {
            "id": item.id,
            "kind": str(item.kind),
            "name": item.name,
            "parent_id": item.parent_id,
            "path": item.path,
            "time_zone": item.time_zone,
            "address": item.address,
            "contacts": dict(item.contacts),
            "bell_schedule_id": item.bell_schedule_id,
            "base_school_id": item.base_school_id,
            "study_days": item.study_days,
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> Organisation:
        return Organisation(
            id=row.id,
            kind=OrgKind(row.kind),
            name=row.name,
            parent_id=row.parent_id,
            path=row.path,
            time_zone=row.time_zone,
            address=row.address,
            contacts=dict(row.contacts or {}),
            bell_schedule_id=row.bell_schedule_id,
            base_school_id=row.base_school_id,
            study_days=row.study_days,
            version=row.version,
        )

    def subtree(self, path: str) -> Sequence[Organisation]:
        query = select(organisations).where(in_subtree(organisations.c.path, path))
        return [
            self._load(row) for row in self._execute(query.order_by(organisations.c.path)).all()
        ]

    def calendars(self, path: str) -> Mapping[CalendarKey, Sequence[Organisation]]:
        """The subtree grouped by calendar, kept per process while the inventory counter
        is unchanged (the recurring-slot search asks for a municipality or the region:
        thousands of schools in a few groups). Shared: read it, never change it."""

        def read() -> dict[CalendarKey, list[Organisation]]:
            above = self.get_many(path.split("/")[:-1])
            return calendar_groups(self.subtree(path), above)

        return kept(self._connection, "organisations", ("calendars", path), read)

    def _subtree(
        self, path: str, kinds: Iterable[OrgKind] | None
    ) -> tuple[list[Row[Any]], list[int]]:
        """The rows of the subtree at `path` in code-point order of path, from every
        organisation row kept by path in this process (checked against the inventory
        counter, as `get_many`'s copy): a page and its count cost no query of their own.
        Every kept row, and the positions of the chosen ones."""
        wanted = None if kinds is None else frozenset(str(kind) for kind in kinds)
        rows, paths, kinds_of = kept(
            self._connection, "organisations", ("by path",), self._rows_by_path
        )
        low = bisect_left(paths, path + "/")
        high = bisect_left(paths, path + "0")  # "0" follows "/" in code points
        exact = bisect_left(paths, path)
        chosen = [exact] if exact < len(paths) and paths[exact] == path else []
        chosen += range(low, high)
        if wanted is not None:
            chosen = [i for i in chosen if kinds_of[i] in wanted]
        return rows, chosen

    def _rows_by_path(self) -> tuple[list[Row[Any]], list[str], list[str]]:
        rows = sorted(self._all_rows(), key=lambda row: str(row.path))
        return rows, [row.path for row in rows], [row.kind for row in rows]

    def search(
        self,
        path: str,
        *,
        kinds: Iterable[OrgKind] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Organisation]:
        rows, chosen = self._subtree(path, kinds)
        return [self._load(rows[i]) for i in chosen[offset : offset + limit]]

    def count(self, path: str, *, kinds: Iterable[OrgKind] | None = None) -> int:
        return len(self._subtree(path, kinds)[1])

    def of_kinds(self, kinds: Iterable[OrgKind]) -> Sequence[Organisation]:
        """From the rows kept by path (as `search`): no query while the inventory stands."""
        wanted = frozenset(str(kind) for kind in kinds)
        rows, _, kinds_of = kept(
            self._connection, "organisations", ("by path",), self._rows_by_path
        )
        return [self._load(row) for row, kind in zip(rows, kinds_of, strict=True) if kind in wanted]


class SqlUsers(SqlCollection[User]):
    table = users
    noun = "user"

    def to_row(self, item: User) -> dict[str, Any]:
        return {
            "id": item.id,
            "username": item.username,
            "password_hash": item.password_hash,
            "role": str(item.role),
            "org_id": item.org_id,
            "active": item.active,
            "full_name": item.full_name,
            "version": item.version,
            "email": item.email,
        }

    def from_row(self, row: Row[Any]) -> User:
        return User(
            id=row.id,
            username=row.username,
            password_hash=row.password_hash,
            role=Role(row.role),
            org_id=row.org_id,
            active=row.active,
            full_name=row.full_name,
            version=row.version,
            email=row.email,
        )

    def of_orgs(self, org_ids: Iterable[str]) -> Sequence[User]:
        wanted = list(org_ids)
        if not wanted:
            return []
        query = select(users).where(users.c.org_id.in_(wanted)).order_by(users.c.id)
        return [self._load(row) for row in self._execute(query).all()]

    def by_username(self, username: str) -> User | None:
        row = self._execute(select(users).where(users.c.username == username)).first()
        return None if row is None else self._load(row)
