"""Terminals, cameras and conference servers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Row, Select, func, select

from adapters.storage.areas import refresh_areas
from adapters.storage.collection import SqlCollection
from adapters.storage.organisations import in_subtree
from adapters.storage.reference_cache import kept, kept_by_id
from adapters.storage.tables import cameras, conference_servers, organisations, terminals
from booking.resources import Camera, ConferenceServer, PlatformKind, Terminal, TerminalVendor

VENDORS = {vendor.value: vendor for vendor in TerminalVendor}
BY_ID = select(conference_servers).order_by(conference_servers.c.id)


def terminal_from_row(row: Row[Any] | tuple[Any, ...]) -> Terminal:
    """A `terminals` row as the domain's Terminal (every store maps it here)."""
    # positional (the table's column order is the dataclass's): availability builds
    # thousands of these per request
    id, site_id, name, vendor, sip, control, username, credentials, active, version = tuple(row)
    return Terminal(
        id, site_id, name, VENDORS[vendor], sip, control, username, credentials, active, version
    )


def camera_from_row(row: Row[Any]) -> Camera:
    """A `cameras` row as the domain's Camera."""
    return Camera(
        id=row.id,
        terminal_id=row.terminal_id,
        onvif_url=row.onvif_url,
        username=row.username,
        credentials_ref=row.credentials_ref,
        presets=list(row.presets or []),
        active=row.active,
        version=row.version,
    )


def _by_site(rows: Mapping[str, Row[Any]]) -> dict[str, tuple[Row[Any], ...]]:
    grouped: dict[str, list[Row[Any]]] = {}
    for row in rows.values():
        grouped.setdefault(row.site_id, []).append(row)
    return {site: tuple(found) for site, found in grouped.items()}


class SqlTerminals(SqlCollection[Terminal]):
    table = terminals
    noun = "terminal"

    def to_row(self, item: Terminal) -> dict[str, Any]:
        return {
            "id": item.id,
            "site_id": item.site_id,
            "name": item.name,
            "vendor": str(item.vendor),
            "sip_address": item.sip_address,
            "control_url": item.control_url,
            "username": item.username,
            "credentials_ref": item.credentials_ref,
            "active": item.active,
            "version": item.version,
        }

    def from_row(self, row: Row[Any] | tuple[Any, ...]) -> Terminal:
        return terminal_from_row(row)

    def update(self, item: Terminal) -> None:
        """As every update; a terminal moved to another school takes its occurrences'
        area keys along (`areas.py`)."""
        was = self._execute(select(terminals.c.site_id).where(terminals.c.id == item.id))
        site = was.scalar_one_or_none()
        super().update(item)
        if site is not None and site != item.site_id:
            refresh_areas(self._connection, item.id)

    def at_sites(self, site_ids: Iterable[str]) -> Sequence[Terminal]:
        """The sites' terminals by id: from this process's copy of the table, grouped by
        site once per version of the inventory (`reference_cache`), else one query."""
        sites = list(dict.fromkeys(site_ids))
        if not sites:
            return []
        rows = kept_by_id(self._connection, "terminals", self._all_rows)
        if rows is not None:
            by_site = kept(self._connection, "terminals", ("by site",), lambda: _by_site(rows))
            found = [row for site in sites for row in by_site.get(site, ())]
            return [self._load(row) for row in sorted(found, key=attrgetter("id"))]
        query = select(terminals).where(terminals.c.site_id.in_(sites)).order_by(terminals.c.id)
        return [self._load(row) for row in self._execute(query).all()]

    def in_subtree(self, path: str, *, active_only: bool = True) -> Sequence[Terminal]:
        """A region's whole inventory — availability of every terminal for a slot — is
        thousands of rows: kept per process while the database's inventory counter stays
        the same (`reference_cache`), else read as plain driver tuples and sorted here
        (code-point order, cheaper than the database's collation). Shared objects: read
        them, never change them (updates go through `get`)."""
        return kept(
            self._connection,
            "terminals",
            ("in_subtree", path, active_only),
            lambda: self._read_subtree(path, active_only),
        )

    def _read_subtree(self, path: str, active_only: bool) -> list[Terminal]:
        query = (
            select(*terminals.c)
            .join(organisations, organisations.c.id == terminals.c.site_id)
            .where(in_subtree(organisations.c.path, path))
        )
        if active_only:
            query = query.where(terminals.c.active.is_(True))
        found = [self.from_row(row) for row in self._tuples(query)]
        found.sort(key=attrgetter("id"))
        return found

    @staticmethod
    def _searched(
        query: Select[Any], path: str | None, site_id: str | None, active_only: bool
    ) -> Select[Any]:
        if path is not None:
            query = query.join(organisations, organisations.c.id == terminals.c.site_id).where(
                in_subtree(organisations.c.path, path)
            )
        if site_id is not None:
            query = query.where(terminals.c.site_id == site_id)
        if active_only:
            query = query.where(terminals.c.active.is_(True))
        return query

    def search(
        self,
        *,
        path: str | None = None,
        site_id: str | None = None,
        active_only: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[Terminal]:
        """A subtree's page comes from the inventory this process keeps (`in_subtree`,
        shared objects: read them only); one site's from the database."""
        if path is not None and site_id is None:
            return self.in_subtree(path, active_only=active_only)[offset : offset + limit]
        query = self._searched(select(*terminals.c), path, site_id, active_only)
        query = query.order_by(self._code_point(terminals.c.id)).offset(offset).limit(limit)
        return [self._load(row) for row in self._execute(query).all()]

    def count(
        self, *, path: str | None = None, site_id: str | None = None, active_only: bool = False
    ) -> int:
        if path is not None and site_id is None:
            return len(self.in_subtree(path, active_only=active_only))
        query = self._searched(
            select(func.count()).select_from(terminals), path, site_id, active_only
        )
        return int(self._execute(query).scalar_one())


class SqlCameras(SqlCollection[Camera]):
    table = cameras
    noun = "camera"

    def to_row(self, item: Camera) -> dict[str, Any]:
        return {
            "id": item.id,
            "terminal_id": item.terminal_id,
            "onvif_url": item.onvif_url,
            "username": item.username,
            "credentials_ref": item.credentials_ref,
            "presets": list(item.presets),
            "active": item.active,
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> Camera:
        return camera_from_row(row)

    def for_terminal(self, terminal_id: str) -> Camera | None:
        query = (
            select(cameras)
            .where(cameras.c.terminal_id == terminal_id)
            .order_by(cameras.c.active.desc(), cameras.c.id)
            .limit(1)
        )
        row = self._execute(query).first()
        return None if row is None else self._load(row)

    @staticmethod
    def _in(query: Select[Any], path: str) -> Select[Any]:
        return (
            query.join(terminals, terminals.c.id == cameras.c.terminal_id)
            .join(organisations, organisations.c.id == terminals.c.site_id)
            .where(in_subtree(organisations.c.path, path))
        )

    def search(self, path: str, *, offset: int = 0, limit: int = 100) -> Sequence[Camera]:
        query = self._in(select(*cameras.c), path)
        query = query.order_by(self._code_point(cameras.c.id)).offset(offset).limit(limit)
        return [self._load(row) for row in self._execute(query).all()]

    def count(self, path: str) -> int:
        query = self._in(select(func.count()).select_from(cameras), path)
        return int(self._execute(query).scalar_one())


class SqlServers(SqlCollection[ConferenceServer]):
    table = conference_servers
    noun = "conference server"

    def to_row(self, item: ConferenceServer) -> dict[str, Any]:
        return {
            "id": item.id,
            "kind": str(item.kind),
            "name": item.name,
            "base_url": item.base_url,
            "secret_ref": item.secret_ref,
            "max_rooms": item.max_rooms,
            "max_participants": item.max_participants,
            "gateway_sip_host": item.gateway_sip_host,
            "gateway_ports": item.gateway_ports,
            "active": item.active,
            "version": item.version,
        }

    def from_row(self, row: Row[Any]) -> ConferenceServer:
        return ConferenceServer(
            id=row.id,
            kind=PlatformKind(row.kind),
            name=row.name,
            base_url=row.base_url,
            secret_ref=row.secret_ref,
            max_rooms=row.max_rooms,
            max_participants=row.max_participants,
            gateway_sip_host=row.gateway_sip_host,
            gateway_ports=row.gateway_ports,
            active=row.active,
            version=row.version,
        )

    def active(self, kind: PlatformKind | None = None) -> Sequence[ConferenceServer]:
        """Active servers (of `kind`) in id order, built once per version of the table
        (`reference_cache`): shared objects — read them, never change them (updates go
        through `get`). Every create that needs equipment reads them for the fleet's
        capacity."""
        found = kept(
            self._connection,
            "conference_servers",
            ("active", kind),
            lambda: tuple(
                self.from_row(row)
                for row in self._execute(BY_ID).all()
                if row.active and (kind is None or row.kind == str(kind))
            ),
        )
        for server in found:
            self._seen(server)
        return found
