"""Reading a region file (docs/region-file.md) into checked rows.

Every entry is validated on its own and remembered with its line, so that the report
names each bad row (`line 57 (schools kem-school-20): time_zone: …`). Besides the
documented sections, a region file may carry a `timetable:` list whose items are the
API's booking requests (the same shape as POST /api/v1/timetable items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booking.resources import PlatformKind, TerminalVendor
from booking.words import Words
from vks.api.schemas.bookings import BookingIn
from vks.api.schemas.common import (
    Code,
    Contacts,
    FreeText,
    Id,
    Login,
    Name,
    Reference,
    Url,
)
from vks.api.schemas.equipment import COUNT_MAX, PRESETS_MAX
from vks.api.schemas.schooltime import AcademicYearIn, BellScheduleIn
from vks.importing.report import ImportReport, SourceError

LINE_KEY = "__line__"
SECTIONS = (
    "region",
    "municipalities",
    "networks",
    "schools",
    "bell_schedules",
    "academic_years",
    "servers",
    "terminals",
    "cameras",
    "timetable",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegionRow(_Strict):
    id: Id
    name: Name
    time_zone: Code
    address: FreeText = ""
    contacts: Contacts = Field(default_factory=dict)
    study_days: Literal[5, 6, 7] | None = None  # None: as the parent says (default 6)


class MunicipalityRow(RegionRow):
    pass


class NetworkRow(_Strict):
    id: Id
    name: Name
    municipality: Id
    base_school: Id | None = None
    time_zone: Code | None = None  # default: the municipality's
    address: FreeText = ""
    contacts: Contacts = Field(default_factory=dict)


class SchoolRow(_Strict):
    id: Id
    name: Name
    municipality: Id
    network: Id | None = None
    time_zone: Code
    address: FreeText = ""
    contacts: Contacts = Field(default_factory=dict)
    bell_schedule: Id | None = None
    study_days: Literal[5, 6, 7] | None = None


class GatewayRow(_Strict):
    sip_host: Reference = ""
    ports: int = Field(default=0, ge=0, le=COUNT_MAX)


class ServerRow(BaseModel):
    model_config = ConfigDict(extra="ignore")  # simulator-only keys (app_id, domain) pass

    id: Id
    kind: PlatformKind
    name: Name
    base_url: Url
    secret: Reference = Field(min_length=1)
    max_rooms: int = Field(ge=1, le=COUNT_MAX)
    max_participants: int = Field(ge=1, le=COUNT_MAX)
    gateway: GatewayRow | None = None
    active: bool = True


class TerminalRow(_Strict):
    id: Id
    site: Id
    name: Name
    vendor: TerminalVendor
    sip_address: Reference
    control_url: Url
    username: Login = "admin"
    password: Reference = ""
    active: bool = True


class CameraRow(_Strict):
    id: Id
    terminal: Id
    onvif_url: Url
    username: Login = "admin"
    password: Reference = ""
    presets: list[Code] = Field(
        default_factory=lambda: ["teacher", "board", "class"], max_length=PRESETS_MAX
    )
    active: bool = True


R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Row(Generic[R]):
    """A checked entry and where it came from."""

    where: str | Words  # "line 57 (schools kem-school-20)"
    value: R


@dataclass
class RegionContent:
    region: Row[RegionRow] | None = None
    municipalities: list[Row[MunicipalityRow]] = field(default_factory=list)
    networks: list[Row[NetworkRow]] = field(default_factory=list)
    schools: list[Row[SchoolRow]] = field(default_factory=list)
    bell_schedules: list[Row[BellScheduleIn]] = field(default_factory=list)
    academic_years: list[Row[AcademicYearIn]] = field(default_factory=list)
    servers: list[Row[ServerRow]] = field(default_factory=list)
    terminals: list[Row[TerminalRow]] = field(default_factory=list)
    cameras: list[Row[CameraRow]] = field(default_factory=list)
    timetable: list[Row[BookingIn]] = field(default_factory=list)
    warnings: list[Words] = field(default_factory=list)


# --- YAML with line numbers -------------------------------------------------------------------
MAX_DEPTH = 64  # nesting of a region file (its entries need 4)


class _LineLoader(yaml.SafeLoader):
    """Safe loading that remembers the line of every mapping (as `__line__`), refuses
    aliases (`*name`: a few hundred bytes of them expand to gigabytes) and nesting deeper
    than MAX_DEPTH (the composer recurses per level)."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise SourceError(
                f"line {mark.line + 1}: YAML aliases (*name) are not allowed in an import"
                " file: write each entry out"
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise SourceError(f"line {mark.line + 1}: the file nests deeper than {MAX_DEPTH}"
                                  " levels")  # fmt: skip
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = dict(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]
    mapping[LINE_KEY] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def check_size(path: Path, max_bytes: int | None) -> None:
    """SourceError for a missing file, or one larger than `max_bytes` (left unread)."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise SourceError(
            f"{path}: {path.stat().st_size} bytes, larger than the allowed {max_bytes} bytes"
            " (VKS_MAX_IMPORT_BYTES)"
        )


def read_yaml(path: Path, max_bytes: int | None = None) -> dict[str, Any]:
    check_size(path, max_bytes)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not a UTF-8 text file") from None
    except SourceError as exc:
        raise SourceError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f"{path}: expected a mapping with region, schools, terminals, …")
    return data


def strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != LINE_KEY}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def describe(error: ValidationError) -> Words:
    """What pydantic found wrong, key by key ("time_zone: unknown key; …"); its own
    messages stay English, the key names are the file's."""
    parts: list[Words | str] = []
    for item in error.errors():
        place = ".".join(str(p) for p in item.get("loc", ()))
        message: Words | str = str(item.get("msg", "not valid"))
        if item.get("type") == "extra_forbidden":
            message = Words("unknown key")
        elif item.get("type") == "missing":
            message = Words("required")
        parts.append(
            Words("%(key)s: %(message)s", {"key": place, "message": message}) if place else message
        )
    joined = "; ".join(f"%(p{n})s" for n in range(len(parts)))  # the same in every language
    return Words(joined, {f"p{n}": p for n, p in enumerate(parts)})


def _where(section: str, raw: Any, index: int) -> str | Words:
    line = raw.get(LINE_KEY) if isinstance(raw, dict) else None
    ident = raw.get("id") or raw.get("external_ref") if isinstance(raw, dict) else None
    label = f"{section} {ident}" if ident else f"{section}[{index}]"
    return Words("line %(line)s (%(label)s)", {"line": line, "label": label}) if line else label


def _rows(data: dict[str, Any], section: str, model: type[R], report: ImportReport) -> list[Row[R]]:
    raw_items = data.get(section) or []
    if not isinstance(raw_items, list):
        report.error(section, Words("must be a list of entries"))
        return []
    rows: list[Row[R]] = []
    for index, raw in enumerate(raw_items):
        where = _where(section, raw, index)
        if not isinstance(raw, dict):
            report.error(where, Words("an entry must be a mapping of keys"))
            continue
        try:
            rows.append(Row(where, model.model_validate(strip_lines(raw))))
        except ValidationError as exc:
            report.error(where, describe(exc))
    return rows


def parse_region(data: dict[str, Any], report: ImportReport) -> RegionContent:
    """Check every entry; bad ones go to the report, good ones into the content."""
    content = RegionContent()
    unknown = sorted(k for k in data if k not in SECTIONS and k != LINE_KEY)
    if unknown:
        content.warnings.append(
            Words("ignored unknown sections: %(names)s", {"names": ", ".join(unknown)})
        )
    region = data.get("region")
    if region is not None:
        where = _where("region", region, 0)
        if not isinstance(region, dict):
            report.error(where, Words("region must be a mapping (id, name, time_zone)"))
        else:
            try:
                content.region = Row(where, RegionRow.model_validate(strip_lines(region)))
            except ValidationError as exc:
                report.error(where, describe(exc))
    content.municipalities = _rows(data, "municipalities", MunicipalityRow, report)
    content.networks = _rows(data, "networks", NetworkRow, report)
    content.schools = _rows(data, "schools", SchoolRow, report)
    content.bell_schedules = _rows(data, "bell_schedules", BellScheduleIn, report)
    content.academic_years = _rows(data, "academic_years", AcademicYearIn, report)
    content.servers = _rows(data, "servers", ServerRow, report)
    content.terminals = _rows(data, "terminals", TerminalRow, report)
    content.cameras = _rows(data, "cameras", CameraRow, report)
    content.timetable = _rows(data, "timetable", BookingIn, report)
    return content


Kind = Literal["yaml", "csv"]


def kind_of(path: Path) -> Kind:
    return "csv" if path.suffix.lower() == ".csv" else "yaml"
