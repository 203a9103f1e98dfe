"""The devices the monitor polls (terminals, their cameras, conference servers) and the
organisations responsible for them, read from the booking tables."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from adapters.storage.batch_store import BatchStore
from adapters.storage.organisations import in_subtree
from adapters.storage.tables import cameras, conference_servers, organisations, terminals
from booking.health import DeviceKind
from booking.health_store import DeviceRecord, OrgChain


class SqlDeviceDirectory(BatchStore):
    def roster(self) -> list[DeviceRecord]:
        """Every active terminal, camera (of an active terminal) and conference server."""
        with self._tx() as c:
            return self._roster(c)

    def _roster(
        self, c: Connection, *, path: str | None = None, kinds: Iterable[DeviceKind] | None = None
    ) -> list[DeviceRecord]:
        wanted = set(kinds) if kinds is not None else set(DeviceKind)
        out: list[DeviceRecord] = []
        if DeviceKind.TERMINAL in wanted:
            out.extend(self._terminals(c, path))
        if DeviceKind.CAMERA in wanted:
            out.extend(self._cameras(c, path))
        if DeviceKind.SERVER in wanted and path is None:
            out.extend(self._servers(c))
        return out

    def _terminals(self, c: Connection, path: str | None) -> list[DeviceRecord]:
        t, o = terminals, organisations
        query = (
            select(
                t.c.id,
                t.c.name,
                t.c.control_url,
                t.c.vendor,
                t.c.username,
                t.c.credentials_ref,
                t.c.site_id,
                o.c.name.label("site_name"),
                o.c.path,
            )
            .select_from(t.join(o, o.c.id == t.c.site_id))
            .where(t.c.active.is_(True))
        )
        if path is not None:
            query = query.where(in_subtree(o.c.path, path))
        return [
            DeviceRecord(
                DeviceKind.TERMINAL,
                r.id,
                r.name,
                r.control_url,
                r.vendor,
                r.username,
                r.credentials_ref,
                r.site_id,
                r.site_name,
                r.path,
            )
            for r in c.execute(query.order_by(t.c.id))
        ]

    def _cameras(self, c: Connection, path: str | None) -> list[DeviceRecord]:
        t, o, cam = terminals, organisations, cameras
        query = (
            select(
                cam.c.id,
                cam.c.onvif_url,
                cam.c.username,
                cam.c.credentials_ref,
                cam.c.terminal_id,
                t.c.name.label("terminal_name"),
                t.c.site_id,
                o.c.name.label("site_name"),
                o.c.path,
            )
            .select_from(cam.join(t, t.c.id == cam.c.terminal_id).join(o, o.c.id == t.c.site_id))
            .where(cam.c.active.is_(True), t.c.active.is_(True))
        )
        if path is not None:
            query = query.where(in_subtree(o.c.path, path))
        return [
            DeviceRecord(
                DeviceKind.CAMERA,
                r.id,
                "",
                r.onvif_url,
                "onvif",
                r.username,
                r.credentials_ref,
                r.site_id,
                r.site_name,
                r.path,
                terminal_id=r.terminal_id,
                terminal_name=r.terminal_name,
            )
            for r in c.execute(query.order_by(cam.c.id))
        ]

    def _servers(self, c: Connection) -> list[DeviceRecord]:
        srv = conference_servers
        query = select(srv).where(srv.c.active.is_(True)).order_by(srv.c.id)
        return [
            DeviceRecord(
                DeviceKind.SERVER,
                r.id,
                r.name,
                r.base_url,
                r.kind,
                "",
                r.secret_ref,
                max_rooms=r.max_rooms,
                max_participants=r.max_participants,
            )
            for r in c.execute(query)
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
