"""Inventory use cases: the organisation tree, terminals, cameras and conference servers.

Adds validate before writing and refuse duplicate ids (Conflict); updates replace the
stored item after an optimistic version check (VersionMismatch) and bump the version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlparse

from booking.access import Action, Principal, authorize
from booking.errors import Conflict, InvalidInput, NotFound
from booking.organisations import (
    Organisation,
    OrgKind,
    check_parent,
    check_time_zone,
    child_path,
)
from booking.paging import Page, check_page, collection_page
from booking.repository import UnitOfWork
from booking.resources import Camera, ConferenceServer, Terminal
from booking.schoolyear import check_study_days
from booking.services.lookups import Lookups
from booking.services.plans import check_aware
from booking.services.records import add_first, check_unused, existing, replace_next
from booking.services.versions import check_version


def _check_url(value: str, field: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"{field} must be an http(s) URL, got {value!r}", field=field)


# --- organisations ----------------------------------------------------------------------------
def add_organisation(uow: UnitOfWork, principal: Principal, org: Organisation) -> Organisation:
    """Place a new organisation in the tree; its `path` is computed from its parent."""
    with uow:
        if not org.id or "/" in org.id:
            raise InvalidInput("an organisation id is a non-empty slug without '/'", field="id")
        if not org.name.strip():
            raise InvalidInput("an organisation needs a name", field="name")
        check_time_zone(org.time_zone)
        if org.study_days is not None:
            check_study_days(org.study_days)
        parent = Lookups(uow).org(org.parent_id) if org.parent_id else None
        check_parent(org.kind, parent)
        if parent is None:
            authorize(principal, Action.MANAGE_REGION)
        else:
            authorize(principal, Action.MANAGE_INVENTORY, [parent])
        check_unused(uow.organisations, org, "organisation")
        if org.bell_schedule_id and uow.bell_schedules.get(org.bell_schedule_id) is None:
            raise NotFound(f"unknown bell schedule {org.bell_schedule_id}")
        stored = replace(org, path=child_path(parent, org.id), version=1)
        uow.organisations.add(stored)
        uow.commit()
        return stored


def update_organisation(
    uow: UnitOfWork, principal: Principal, org: Organisation, *, expected_version: int | None
) -> Organisation:
    """Change name, address, contacts, time zone, bell schedule or base school. The place
    in the tree (kind, parent) does not change."""
    with uow:
        current = Lookups(uow).org(org.id)
        authorize(principal, Action.MANAGE_INVENTORY, [current])
        check_version(f"organisation {org.id}", current.version, expected_version)
        if (org.kind, org.parent_id) != (current.kind, current.parent_id):
            raise InvalidInput("an organisation's kind and parent cannot change", field="parent_id")
        if not org.name.strip():
            raise InvalidInput("an organisation needs a name", field="name")
        check_time_zone(org.time_zone)
        if org.study_days is not None:
            check_study_days(org.study_days)
        if org.bell_schedule_id and uow.bell_schedules.get(org.bell_schedule_id) is None:
            raise NotFound(f"unknown bell schedule {org.bell_schedule_id}")
        stored = replace(org, path=current.path, version=current.version + 1)
        uow.organisations.update(stored)
        uow.commit()
        return stored


def get_organisation(uow: UnitOfWork, principal: Principal, org_id: str) -> Organisation:
    with uow:
        org = Lookups(uow).org(org_id)
        authorize(principal, Action.READ, [org])
        return org


def names_of(uow: UnitOfWork, principal: Principal, org_ids: Iterable[str]) -> dict[str, str]:
    """The names of those of `org_ids` the caller may see (lists show names, not ids; a
    partner school outside the caller's subtree is named too when it takes part)."""
    wanted = {i for i in org_ids if i}
    with uow:
        found = uow.organisations.get_many(wanted)
    return {i: o.name or i for i, o in found.items()}


def list_organisations(
    uow: UnitOfWork, principal: Principal, *, offset: int = 0, limit: int = 100
) -> list[Organisation]:
    """The caller's subtree (the whole tree for the RCC), by path."""
    return list(organisations_page(uow, principal, offset=offset, limit=limit).items)


def organisations_page(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kinds: Iterable[OrgKind] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[Organisation]:
    """One page of the caller's subtree (of these kinds only, when given), by path, and
    how many there are in all."""
    authorize(principal, Action.READ)
    check_page(offset, limit)
    kinds = None if kinds is None else list(kinds)
    with uow:
        path = principal.org_path
        return Page(
            items=list(uow.organisations.search(path, kinds=kinds, offset=offset, limit=limit)),
            total=uow.organisations.count(path, kinds=kinds),
        )


# --- terminals --------------------------------------------------------------------------------
def _check_terminal(lookups: Lookups, principal: Principal, terminal: Terminal) -> None:
    site = lookups.org(terminal.site_id)
    if site.kind not in (OrgKind.SCHOOL, OrgKind.REGION):
        raise InvalidInput(
            f"a terminal stands at a school or at the RCC, not at a {site.kind}", field="site_id"
        )
    authorize(principal, Action.MANAGE_INVENTORY, [site])
    if not terminal.name.strip():
        raise InvalidInput("a terminal needs a name", field="name")
    if not terminal.sip_address.startswith(("sip:", "sips:")):
        raise InvalidInput("a SIP address starts with sip:", field="sip_address")
    _check_url(terminal.control_url, "control_url")


def add_terminal(uow: UnitOfWork, principal: Principal, terminal: Terminal) -> Terminal:
    with uow:
        _check_terminal(Lookups(uow), principal, terminal)
        check_unused(uow.terminals, terminal, "terminal")
        return add_first(uow, uow.terminals, terminal)


def update_terminal(
    uow: UnitOfWork, principal: Principal, terminal: Terminal, *, expected_version: int | None
) -> Terminal:
    with uow:
        lookups = Lookups(uow)
        current = lookups.terminals([terminal.id])[terminal.id]
        authorize(principal, Action.MANAGE_INVENTORY, [lookups.org(current.site_id)])
        check_version(f"terminal {terminal.id}", current.version, expected_version)
        _check_terminal(lookups, principal, terminal)
        return replace_next(uow, uow.terminals, terminal, current)


def retire_terminal(
    uow: UnitOfWork,
    principal: Principal,
    terminal_id: str,
    *,
    now: datetime,
    force: bool = False,
    expected_version: int | None = None,
) -> Terminal:
    """Take a terminal out of service: it can no longer be booked. Refused (Conflict, with
    the affected occurrences) while future bookings still use it, unless `force`."""
    check_aware(now, "now")
    with uow:
        lookups = Lookups(uow)
        terminal = lookups.terminals([terminal_id])[terminal_id]
        authorize(principal, Action.MANAGE_INVENTORY, [lookups.org(terminal.site_id)])
        check_version(f"terminal {terminal_id}", terminal.version, expected_version)
        future = uow.occurrences.overlapping_reservations(
            [terminal_id], now, now + timedelta(days=3660)
        )
        if future and not force:
            raise Conflict(
                f"terminal {terminal_id} is still booked for {len(future)} future sessions",
                occurrence_ids=sorted({r.occurrence_id for r in future}),
            )
        terminal.active = False
        terminal.version += 1
        uow.terminals.update(terminal)
        uow.commit()
        return terminal


def get_terminal(uow: UnitOfWork, principal: Principal, terminal_id: str) -> Terminal:
    with uow:
        lookups = Lookups(uow)
        terminal = lookups.terminals([terminal_id])[terminal_id]
        authorize(principal, Action.READ, [lookups.org(terminal.site_id)])
        return terminal


def list_terminals(
    uow: UnitOfWork,
    principal: Principal,
    *,
    site_id: str | None = None,
    active_only: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[Terminal]:
    """Terminals of one site, or of the caller's whole subtree, by id."""
    found = terminals_page(
        uow, principal, site_id=site_id, active_only=active_only, offset=offset, limit=limit
    )
    return list(found.items)


def terminals_page(
    uow: UnitOfWork,
    principal: Principal,
    *,
    site_id: str | None = None,
    active_only: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> Page[Terminal]:
    """One page of the terminals of one site, or of the caller's whole subtree, by id, and
    how many there are in all."""
    check_page(offset, limit)
    with uow:
        scope = Lookups(uow).org(site_id or principal.org_id)
        authorize(principal, Action.READ, [scope])
        path = None if site_id is not None else scope.path
        found = uow.terminals.search(
            path=path, site_id=site_id, active_only=active_only, offset=offset, limit=limit
        )
        total = uow.terminals.count(path=path, site_id=site_id, active_only=active_only)
        return Page(items=list(found), total=total)


# --- cameras ----------------------------------------------------------------------------------
def _check_camera(lookups: Lookups, principal: Principal, camera: Camera) -> None:
    terminal = lookups.terminals([camera.terminal_id])[camera.terminal_id]
    authorize(principal, Action.MANAGE_INVENTORY, [lookups.org(terminal.site_id)])
    _check_url(camera.onvif_url, "onvif_url")
    if not camera.presets or any(not p.strip() for p in camera.presets):
        raise InvalidInput("a camera needs named presets", field="presets")
    if len(set(camera.presets)) != len(camera.presets):
        raise InvalidInput("a preset name is repeated", field="presets")


def add_camera(uow: UnitOfWork, principal: Principal, camera: Camera) -> Camera:
    with uow:
        _check_camera(Lookups(uow), principal, camera)
        check_unused(uow.cameras, camera, "camera")
        return add_first(uow, uow.cameras, camera)


def update_camera(
    uow: UnitOfWork, principal: Principal, camera: Camera, *, expected_version: int | None
) -> Camera:
    with uow:
        current = existing(uow.cameras, camera.id, "camera")
        lookups = Lookups(uow)
        _check_camera(lookups, principal, current)
        check_version(f"camera {camera.id}", current.version, expected_version)
        _check_camera(lookups, principal, camera)
        return replace_next(uow, uow.cameras, camera, current)


def get_camera(uow: UnitOfWork, principal: Principal, camera_id: str) -> Camera:
    with uow:
        camera = uow.cameras.get(camera_id)
        if camera is None:
            raise NotFound(f"unknown camera {camera_id}")
        lookups = Lookups(uow)
        terminal = lookups.terminals([camera.terminal_id])[camera.terminal_id]
        authorize(principal, Action.READ, [lookups.org(terminal.site_id)])
        return camera


def cameras_page(
    uow: UnitOfWork, principal: Principal, *, offset: int = 0, limit: int = 100
) -> Page[Camera]:
    """One page of the cameras at the terminals of the caller's subtree, by id."""
    check_page(offset, limit)
    with uow:
        scope = Lookups(uow).org(principal.org_id)
        authorize(principal, Action.READ, [scope])
        found = uow.cameras.search(scope.path, offset=offset, limit=limit)
        return Page(items=list(found), total=uow.cameras.count(scope.path))


# --- conference servers -----------------------------------------------------------------------
def _check_server(server: ConferenceServer) -> None:
    _check_url(server.base_url, "base_url")
    if server.max_rooms < 1 or server.max_participants < 1 or server.gateway_ports < 0:
        raise InvalidInput(
            "a server carries at least one room and one participant; ports are not negative",
            field="max_rooms",
        )
    if not server.secret_ref:
        raise InvalidInput("a server needs a secret reference", field="secret_ref")


def add_server(uow: UnitOfWork, principal: Principal, server: ConferenceServer) -> ConferenceServer:
    authorize(principal, Action.MANAGE_REGION)
    _check_server(server)
    with uow:
        check_unused(uow.servers, server, "server")
        return add_first(uow, uow.servers, server)


def update_server(
    uow: UnitOfWork,
    principal: Principal,
    server: ConferenceServer,
    *,
    expected_version: int | None,
) -> ConferenceServer:
    authorize(principal, Action.MANAGE_REGION)
    _check_server(server)
    with uow:
        current = existing(uow.servers, server.id, "server")
        check_version(f"server {server.id}", current.version, expected_version)
        return replace_next(uow, uow.servers, server, current)


def servers_page(
    uow: UnitOfWork, principal: Principal, *, offset: int = 0, limit: int = 100
) -> Page[ConferenceServer]:
    """One page of the servers, by id. Readable by every role."""
    authorize(principal, Action.READ)
    with uow:
        return collection_page(uow.servers, offset, limit)


def list_servers(uow: UnitOfWork, principal: Principal) -> list[ConferenceServer]:
    """Every server (secrets are references, never values). Readable by every role."""
    authorize(principal, Action.READ)
    with uow:
        return list(uow.servers.list(0, 1000))
