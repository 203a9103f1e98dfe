"""Applying checked rows to the database through the services, all in one transaction.

Rows are upserted: a new id is added, a known one updated when it differs, an equal one
left alone — so a region file can be imported again after it was edited. Each row runs in
a savepoint; a refused row is reported with its place in the file and the import goes on
checking the others. Any error → everything is rolled back and `ImportFailed` raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from booking.access import Principal, Role
from booking.bells import BellSchedule
from booking.errors import DomainError, InvalidInput, NotFound
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.resources import Camera, ConferenceServer, Terminal
from booking.schoolyear import AcademicYear
from booking.services import bookings, inventory, schooltime
from booking.services.bookings import ItemStatus
from booking.services.plans import BookingRequest
from booking.services.policy import Policy
from booking.services.timetable_import import all_new, import_timetable
from booking.words import Words
from vks.api.schemas.bookings import BookingIn
from vks.api.spans import span_resolver
from vks.importing.region import RegionContent, Row, kind_of, parse_region, read_yaml
from vks.importing.report import ImportFailed, ImportReport
from vks.importing.timetable_csv import parse_timetable
from vks.importing.transaction import SharedUnitOfWork
from vks.secrets import to_ref

T = TypeVar("T")
IMPORTER = "import"


def parse_files(
    paths: Sequence[Path], report: ImportReport, max_file_bytes: int | None = None
) -> RegionContent:
    """Read and check every file (SourceError if one cannot be read at all, or is larger
    than `max_file_bytes`); the same id twice is an error naming both places."""
    content = RegionContent()
    for path in paths:
        if kind_of(path) == "csv":
            content.timetable += parse_timetable(path, report, max_file_bytes)
            continue
        part = parse_region(read_yaml(path, max_file_bytes), report)
        content.warnings += part.warnings
        if part.region is not None:
            content.region = part.region
        for name in (
            "municipalities", "networks", "schools", "bell_schedules", "academic_years",
            "servers", "terminals", "cameras", "timetable",
        ):  # fmt: skip
            getattr(content, name).extend(getattr(part, name))
    _refuse_duplicates(content, report)
    return content


def _refuse_duplicates(content: RegionContent, report: ImportReport) -> None:
    """One id, one entry: a second entry would silently replace the first. Organisations
    of every level share one id space; a timetable's items are keyed by (owner,
    external_ref) as the upsert keys them."""
    organisations: list[Row[Any]] = [content.region] if content.region is not None else []
    organisations += [*content.municipalities, *content.networks, *content.schools]
    for rows in (
        organisations, content.bell_schedules, content.academic_years, content.servers,
        content.terminals, content.cameras,
    ):  # fmt: skip
        _first_wins(((row.value.id, row) for row in rows), "id", report)
    refs = (
        ((row.value.owner_org_id, row.value.external_ref), row)
        for row in content.timetable
        if row.value.external_ref is not None
    )
    _first_wins(refs, "external_ref", report)


def _first_wins(keyed: Iterable[tuple[Any, Row[Any]]], what: str, report: ImportReport) -> None:
    seen: dict[Any, Row[Any]] = {}
    for key, row in keyed:
        first = seen.setdefault(key, row)
        if first is not row:
            name = key[1] if isinstance(key, tuple) else key
            report.error(
                row.where,
                Words(
                    "duplicate %(what)s %(name)s: first given at %(where)s",
                    {"what": what, "name": name, "where": first.where},
                ),
            )


def import_files(
    paths: Sequence[Path],
    uow_factory: Callable[[], UnitOfWork],
    *,
    now: datetime,
    policy: Policy,
    dry_run: bool = False,
    max_file_bytes: int | None = None,
) -> ImportReport:
    """Import region files and CSV timetables together: all or nothing."""
    report = ImportReport(source=", ".join(str(p) for p in paths), dry_run=dry_run)
    content = parse_files(paths, report, max_file_bytes)
    report.warnings += content.warnings
    if report.errors:
        raise ImportFailed(report)
    outer = uow_factory()
    with outer:
        shared = SharedUnitOfWork(outer)
        _Load(cast(UnitOfWork, shared), shared, content, report, now, policy).run()
        if report.errors:
            outer.rollback()
            raise ImportFailed(report)
        if dry_run:
            outer.rollback()
        else:
            outer.commit()
    return report


def _same(new: T, current: T) -> bool:
    return replace(new, version=getattr(current, "version", 1)) == current  # type: ignore[type-var]


class _Load:
    def __init__(
        self,
        uow: UnitOfWork,
        shared: SharedUnitOfWork,
        content: RegionContent,
        report: ImportReport,
        now: datetime,
        policy: Policy,
    ) -> None:
        self.uow = uow
        self.shared = shared
        self.content = content
        self.report = report
        self.now = now
        self.policy = policy
        # every rule of the services applies; the RCC may do everything
        self.principal = Principal(IMPORTER, Role.RCC_OPERATOR, "", "")
        self.zones: dict[str, str] = {}
        self.refused: set[str] = set()  # ids of rows refused so far

    # --- driving ------------------------------------------------------------------------------
    def run(self) -> None:
        self._choose_principal()
        c = self.content
        self._each("bell schedules", c.bell_schedules, self._bells)
        self._each("academic years", c.academic_years, self._year)
        if c.region is not None:
            self._each("organisations", [c.region], self._region)
        self._each("organisations", c.municipalities, self._municipality)
        self._each("organisations", c.networks, self._network, "municipality")
        self._each("organisations", c.schools, self._school, "municipality", "network")
        self._each("servers", c.servers, self._server)
        self._each("terminals", c.terminals, self._terminal, "site")
        self._each("cameras", c.cameras, self._camera, "terminal")
        if c.timetable:
            self._timetable(c.timetable)

    def _each(
        self,
        kind: str,
        rows: Iterable[Row[Any]],
        apply: Callable[[Any], str],
        *references: str,
    ) -> None:
        """Apply each row in a savepoint. A row naming a row refused above is reported as
        such (one cause, not a cascade of puzzling "unknown" errors)."""
        for row in rows:
            ident = getattr(row.value, "id", None)
            broken = [
                getattr(row.value, name)
                for name in references
                if getattr(row.value, name, None) in self.refused
            ]
            if broken:
                self.report.error(
                    row.where,
                    Words("depends on %(id)s, which was refused above", {"id": broken[0]}),
                )
                self.refused.add(str(ident))
                continue
            try:
                with self.shared.row():
                    outcome = apply(row.value)
            except DomainError as error:
                self.report.error(row.where, error.words or error.message)
                self.refused.add(str(ident))
            else:
                self.report.count(kind, outcome)

    def _choose_principal(self) -> None:
        """The import acts as the RCC of the region the rows belong to (bookings without an
        owner belong to it)."""
        c = self.content
        region_id = c.region.value.id if c.region is not None else None
        if region_id is None:
            probe = [r.value.host_school_id for r in c.timetable]
            probe += [r.value.site for r in c.terminals]
            for org_id in probe:
                try:
                    region_id = self._get_org(org_id).path.split("/")[0]
                    break
                except DomainError:
                    continue
        if region_id is None and (c.municipalities or c.networks or c.schools):
            where = (c.municipalities or c.networks or c.schools)[0].where
            self.report.error(where, Words("the file needs a `region:` entry above municipalities"))
        if region_id:
            self.principal = Principal(IMPORTER, Role.RCC_OPERATOR, region_id, region_id)

    # --- organisations ------------------------------------------------------------------------
    def _get_org(self, org_id: str) -> Organisation:
        return inventory.get_organisation(self.uow, self.principal, org_id)

    def _zone_of(self, org_id: str) -> str:
        if org_id not in self.zones:
            self.zones[org_id] = self._get_org(org_id).time_zone
        return self.zones[org_id]

    def _upsert_org(self, org: Organisation) -> str:
        try:
            current = self._get_org(org.id)
        except NotFound:
            stored = inventory.add_organisation(self.uow, self.principal, org)
            self.zones[stored.id] = stored.time_zone
            return "created"
        if (current.kind, current.parent_id) != (org.kind, org.parent_id):
            raise InvalidInput(
                f"{org.id} is already a {current.kind} under {current.parent_id or 'nothing'};"
                " an organisation cannot move in the tree",
                field="parent_id",
            )
        candidate = replace(org, path=current.path, version=current.version)
        if candidate == current:
            return "unchanged"
        inventory.update_organisation(self.uow, self.principal, candidate, expected_version=None)
        self.zones[org.id] = org.time_zone
        return "updated"

    def _region(self, row: Any) -> str:
        org = Organisation(
            row.id, OrgKind.REGION, row.name, None, "", row.time_zone, row.address,
            dict(row.contacts), study_days=row.study_days,
        )  # fmt: skip
        return self._upsert_org(org)

    def _region_id(self) -> str:
        return self.principal.org_id

    def _municipality(self, row: Any) -> str:
        org = Organisation(
            row.id, OrgKind.MUNICIPALITY, row.name, self._region_id(), "", row.time_zone,
            row.address, dict(row.contacts), study_days=row.study_days,
        )  # fmt: skip
        return self._upsert_org(org)

    def _network(self, row: Any) -> str:
        zone = row.time_zone or self._zone_of(row.municipality)
        org = Organisation(
            row.id, OrgKind.NETWORK, row.name, row.municipality, "", zone, row.address,
            dict(row.contacts), base_school_id=row.base_school,
        )  # fmt: skip
        return self._upsert_org(org)

    def _school(self, row: Any) -> str:
        parent = row.network or row.municipality
        municipality = self._get_org(row.municipality)  # NotFound names an unknown one
        if municipality.kind != OrgKind.MUNICIPALITY:
            raise InvalidInput(f"{row.municipality} is not a municipality", field="municipality")
        org = Organisation(
            row.id, OrgKind.SCHOOL, row.name, parent, "", row.time_zone, row.address,
            dict(row.contacts), bell_schedule_id=row.bell_schedule, study_days=row.study_days,
        )  # fmt: skip
        return self._upsert_org(org)

    # --- school time --------------------------------------------------------------------------
    def _bells(self, row: Any) -> str:
        schedule: BellSchedule = row.to_domain()
        try:
            current = schooltime.get_bell_schedule(self.uow, self.principal, schedule.id)
        except NotFound:
            schooltime.add_bell_schedule(self.uow, self.principal, schedule)
            return "created"
        if _same(schedule, current):
            return "unchanged"
        schooltime.update_bell_schedule(self.uow, self.principal, schedule, expected_version=None)
        return "updated"

    def _year(self, row: Any) -> str:
        year: AcademicYear = row.to_domain()
        known = {y.id: y for y in schooltime.list_academic_years(self.uow, self.principal)}
        current = known.get(year.id)
        if current is None:
            schooltime.add_academic_year(self.uow, self.principal, year)
            return "created"
        if _same(year, current):
            return "unchanged"
        schooltime.update_academic_year(self.uow, self.principal, year, expected_version=None)
        return "updated"

    # --- equipment ----------------------------------------------------------------------------
    def _server(self, row: Any) -> str:
        gateway = row.gateway
        server = ConferenceServer(
            id=row.id,
            kind=row.kind,
            name=row.name,
            base_url=row.base_url,
            secret_ref=to_ref(row.secret),
            max_rooms=row.max_rooms,
            max_participants=row.max_participants,
            gateway_sip_host=gateway.sip_host if gateway else "",
            gateway_ports=gateway.ports if gateway else 0,
            active=row.active,
        )
        known = {s.id: s for s in inventory.list_servers(self.uow, self.principal)}
        current = known.get(server.id)
        if current is None:
            inventory.add_server(self.uow, self.principal, server)
            return "created"
        if _same(server, current):
            return "unchanged"
        inventory.update_server(self.uow, self.principal, server, expected_version=None)
        return "updated"

    def _terminal(self, row: Any) -> str:
        terminal = Terminal(
            id=row.id,
            site_id=row.site,
            name=row.name,
            vendor=row.vendor,
            sip_address=row.sip_address,
            control_url=row.control_url,
            username=row.username,
            credentials_ref=to_ref(row.password) if row.password else "",
            active=row.active,
        )
        try:
            current = inventory.get_terminal(self.uow, self.principal, terminal.id)
        except NotFound:
            inventory.add_terminal(self.uow, self.principal, terminal)
            return "created"
        if _same(terminal, current):
            return "unchanged"
        inventory.update_terminal(self.uow, self.principal, terminal, expected_version=None)
        return "updated"

    def _camera(self, row: Any) -> str:
        camera = Camera(
            id=row.id,
            terminal_id=row.terminal,
            onvif_url=row.onvif_url,
            username=row.username,
            credentials_ref=to_ref(row.password) if row.password else "",
            presets=list(row.presets),
            active=row.active,
        )
        try:
            current = inventory.get_camera(self.uow, self.principal, camera.id)
        except NotFound:
            inventory.add_camera(self.uow, self.principal, camera)
            return "created"
        if _same(camera, current):
            return "unchanged"
        inventory.update_camera(self.uow, self.principal, camera, expected_version=None)
        return "updated"

    # --- timetable ----------------------------------------------------------------------------
    def _timetable(self, rows: Sequence[Row[BookingIn]]) -> None:
        resolver = span_resolver(lambda: self.uow, self.principal, self.now.date())
        requests: list[BookingRequest] = []
        wheres: list[str | Words] = []
        for row in rows:
            try:
                requests.append(row.value.to_request(resolver))
                wheres.append(row.where)
            except DomainError as error:
                self.report.error(row.where, error.words or error.message)
        if not requests:
            return
        with self.shared.row():
            if all_new(self.uow, self.principal, requests):  # a new timetable: in bulk
                results = import_timetable(
                    self.uow, self.principal, requests, now=self.now, policy=self.policy
                )
            else:  # an edited one: item by item (unchanged items stay as they are)
                results = bookings.upsert_timetable(
                    self.uow, self.principal, requests, now=self.now, policy=self.policy
                )
        for result in results:
            if result.status == ItemStatus.FAILED:
                detail: str | Words = result.words or result.message
                if result.conflicts:
                    clash = result.conflicts[0]
                    # the words only while they still say what the message says (an item
                    # of the file is named by its reference, not by a booking id)
                    agree = clash.words is not None and clash.words.text() == clash.message
                    detail = Words(
                        "%(message)s (first: %(clash)s)",
                        {"message": detail, "clash": clash.words if agree else clash.message},
                    )
                self.report.error(wheres[result.index], detail)
            else:
                self.report.count("bookings", str(result.status))
