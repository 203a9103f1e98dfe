"""Reading a CSV timetable: one booking per row, keyed by `external_ref`.

Columns (header row required; order free; empty cells mean "not given"):

    external_ref, title, kind, host_school, teacher, subject, owner,
    participants   "school:terminal:preset:class; school:terminal" (preset, class optional)
    weekdays       "tue thu", "вт,чт" or "1 3" (Monday = 0) — a weekly series …
    lesson         lesson number (the host school's bells) …
    start_time, end_time   … or local clock times
    starts_on, ends_on, quarter, whole_year, week_parity   the series' span
    date           a single lesson instead of a series
    platform, setup_minutes, expected_participants

Rows become the API's booking requests (`BookingIn`), so CSV, YAML and HTTP say the same.
UTF-8 (with or without BOM); comma or semicolon as delimiter (Excel in Russia writes `;`).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from booking.words import Words
from vks.api.schemas.bookings import BookingIn
from vks.importing.region import Row, check_size, describe
from vks.importing.report import ImportReport, SourceError

REQUIRED = ("external_ref", "title", "host_school", "teacher", "participants")
KNOWN = (
    *REQUIRED,
    "kind",
    "subject",
    "owner",
    "weekdays",
    "lesson",
    "start_time",
    "end_time",
    "starts_on",
    "ends_on",
    "quarter",
    "whole_year",
    "week_parity",
    "date",
    "platform",
    "setup_minutes",
    "expected_participants",
)
TRUE = {"1", "true", "yes", "да", "y"}


def read_csv(
    path: Path, max_bytes: int | None = None
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    check_size(path, max_bytes)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not a UTF-8 text file (save the CSV as UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise SourceError(f"{path}: empty file (a header row is required)")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SourceError(f"{path}: missing columns: {', '.join(missing)}")
    rows = []
    for record in reader:
        cleaned = {(k or "").strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if any(cleaned.values()):
            rows.append((reader.line_num, cleaned))
    return header, rows


PARTICIPANTS_FORMAT = "school:terminal:preset:class; school:terminal (preset and class optional)"


class MalformedCell(ValueError):
    """A cell that is not written in its column's format."""


def _participants(cell: str) -> list[dict[str, Any]]:
    found = []
    parts = [p.strip() for p in cell.split(";")]
    if parts and not parts[-1]:
        parts.pop()  # a trailing separator is harmless
    for number, part in enumerate(parts, start=1):
        fields = [f.strip() for f in part.split(":")]
        if not part or len(fields) > 4 or not fields[0] or ("" in fields[1:-1]):
            raise MalformedCell(
                f"participants: participant {number} ({part!r}) is not in the format "
                f"{PARTICIPANTS_FORMAT!r}"
            )
        school, terminal, preset, class_name = ([*fields, "", "", ""])[:4]
        found.append(
            {
                "school_id": school,
                "terminal_id": terminal or None,
                "camera_preset": preset or None,
                "class_name": class_name or None,
            }
        )
    return found


def _item(row: dict[str, str]) -> dict[str, Any]:
    def cell(name: str) -> str | None:
        return row.get(name) or None

    item: dict[str, Any] = {
        "external_ref": cell("external_ref"),
        "title": row.get("title", ""),
        "host_school_id": row.get("host_school", ""),
        "teacher": row.get("teacher", ""),
        "participants": _participants(row.get("participants", "")),
    }
    for column, key in (
        ("kind", "kind"),
        ("subject", "subject"),
        ("owner", "owner_org_id"),
        ("platform", "platform"),
        ("setup_minutes", "setup_minutes"),
        ("expected_participants", "expected_participants"),
    ):
        if cell(column) is not None:
            item[key] = cell(column)
    if cell("weekdays"):
        weekly: dict[str, Any] = {
            "weekdays": [w for w in re.split(r"[\s,;+]+", row["weekdays"]) if w],
        }
        for column, key in (
            ("lesson", "lesson_number"),
            ("start_time", "start_time"),
            ("end_time", "end_time"),
            ("starts_on", "starts_on"),
            ("ends_on", "ends_on"),
            ("quarter", "quarter"),
            ("week_parity", "week_parity"),
        ):
            if cell(column) is not None:
                weekly[key] = cell(column)
        if cell("whole_year"):
            weekly["whole_year"] = row["whole_year"].lower() in TRUE
        item["weekly"] = weekly
    else:
        for column, key in (
            ("date", "date"),
            ("lesson", "lesson_number"),
            ("start_time", "start_time"),
            ("end_time", "end_time"),
        ):
            if cell(column) is not None:
                item[key] = cell(column)
    return item


def parse_timetable(
    path: Path, report: ImportReport, max_bytes: int | None = None
) -> list[Row[BookingIn]]:
    header, records = read_csv(path, max_bytes)
    unknown = [h for h in header if h not in KNOWN]
    rows: list[Row[BookingIn]] = []
    if unknown:
        report.error(
            Words("%(file)s line %(line)s", {"file": path.name, "line": 1}),
            Words("unknown columns: %(columns)s", {"columns": ", ".join(unknown)}),
        )
        return rows
    for line, record in records:
        where = Words("%(file)s line %(line)s", {"file": path.name, "line": line})
        try:
            rows.append(Row(where, BookingIn.model_validate(_item(record))))
        except ValidationError as exc:
            report.error(where, describe(exc))
        except MalformedCell as exc:
            report.error(where, str(exc))
    return rows
