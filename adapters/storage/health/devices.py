"""The devices the monitor polls (terminals, their cameras, conference servers) and the
organisations responsible for them, read from the booking tables. Rows become the domain's
`Terminal`, `Camera` and `ConferenceServer` through the one row mapping every store uses
(`equipment`), then devices to poll (`booking.health_store`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Row, select

from adapters.storage.batch_store import BatchStore
from adapters.storage.equipment import BY_ID, SqlServers, camera_from_row, terminal_from_row
from adapters.storage.organisations import in_subtree
from adapters.storage.tables import cameras, organisations, terminals
from booking.health import DeviceKind
from booking.health_records import (
    DeviceRecord,
    OrgChain,
    camera_device,
    server_device,
    terminal_device,
)

_TERMINAL_COLUMNS = len(terminals.c)


class SqlDeviceDirectory(BatchStore):
    def roster(self) -> list[DeviceRecord]:
        """Every active terminal, camera (of an active terminal) and conference server."""
        with self._tx() as c:
            return self._roster(c)

    def _roster(
        self,
        c: Connection,
        *,
        path: str | None = None,
        kinds: Iterable[DeviceKind] | None = None,
        device_id: str | None = None,
    ) -> list[DeviceRecord]:
        """Active devices of these kinds (inside the subtree at `path`); `device_id`: that
        one only (a device's page reads one row, not the region's 10,000)."""
        wanted = set(kinds) if kinds is not None else set(DeviceKind)
        out: list[DeviceRecord] = []
        if DeviceKind.TERMINAL in wanted:
            out.extend(self._terminals(c, path, device_id))
        if DeviceKind.CAMERA in wanted:
            out.extend(self._cameras(c, path, device_id))
        if DeviceKind.SERVER in wanted and path is None:
            out.extend(d for d in self._servers(c) if device_id in (None, d.id))
        return out

    def _terminals(
        self, c: Connection, path: str | None, device_id: str | None = None
    ) -> list[DeviceRecord]:
        o = organisations.c
        query = (
            select(*terminals.c, o.name.label("site_name"), o.path)
            .join(organisations, o.id == terminals.c.site_id)
            .where(terminals.c.active.is_(True))
        )
        if path is not None:
            query = query.where(in_subtree(o.path, path))
        if device_id is not None:
            query = query.where(terminals.c.id == device_id)
        return [
            terminal_device(terminal_from_row(tuple(r)[:_TERMINAL_COLUMNS]), r.site_name, r.path)
            for r in c.execute(query.order_by(terminals.c.id))
        ]

    def _cameras(
        self, c: Connection, path: str | None, device_id: str | None = None
    ) -> list[DeviceRecord]:
        o = organisations.c
        query = (
            select(
                *cameras.c,
                *(column.label(f"t_{column.name}") for column in terminals.c),
                o.name.label("site_name"),
                o.path,
            )
            .select_from(
                cameras.join(terminals, terminals.c.id == cameras.c.terminal_id).join(
                    organisations, o.id == terminals.c.site_id
                )
            )
            .where(cameras.c.active.is_(True), terminals.c.active.is_(True))
        )
        if path is not None:
            query = query.where(in_subtree(o.path, path))
        if device_id is not None:
            query = query.where(cameras.c.id == device_id)
        first = len(cameras.c)
        out = []
        for r in c.execute(query.order_by(cameras.c.id)):
            values = tuple(r)
            camera = camera_from_row(cast(Row[Any], r))
            terminal = terminal_from_row(values[first : first + _TERMINAL_COLUMNS])
            out.append(camera_device(camera, terminal, r.site_name, r.path))
        return out

    def _servers(self, c: Connection) -> list[DeviceRecord]:
        servers = SqlServers(c)
        return [
            server_device(server)
            for server in map(servers.from_row, c.execute(BY_ID))
            if server.active
        ]

    def org_path(self, org_id: str) -> str | None:
        with self._tx() as c:
            return c.execute(
                select(organisations.c.path).where(organisations.c.id == org_id)
            ).scalar_one_or_none()

    def org_chain(self, path: str) -> OrgChain:
        """The organisations along a path, from the region down: (id, kind, contacts)."""
        ids = [p for p in path.split("/") if p]
        if not ids:
            return []
        o = organisations.c
        with self._tx() as c:
            rows = {
                r.id: r for r in c.execute(select(o.id, o.kind, o.contacts).where(o.id.in_(ids)))
            }
        return [(i, rows[i].kind, dict(rows[i].contacts or {})) for i in ids if i in rows]

    def regions(self) -> OrgChain:
        o = organisations.c
        with self._tx() as c:
            return [
                (r.id, r.kind, dict(r.contacts or {}))
                for r in c.execute(
                    select(o.id, o.kind, o.contacts).where(o.parent_id.is_(None)).order_by(o.id)
                )
            ]
