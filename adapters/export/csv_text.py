"""A report's tables as CSV, as a Russian spreadsheet opens it: UTF-8 with a byte-order
mark, semicolons, decimal commas; one block per table, separated by an empty line."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from booking.services.reports.tables import Table


def csv_text(tables: Sequence[Table]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for n, table in enumerate(tables):
        if n:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.headers)
        rows: list[tuple[int | None, Sequence[Any]]] = list(enumerate(table.rows))
        if table.total is not None:
            rows.append((None, table.total))
        for r, row in rows:
            writer.writerow([_cell(v, table.is_share(r, i)) for i, v in enumerate(row)])
    return out.getvalue()


def _cell(value: Any, share: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value * 100:.1f}" if share else f"{value:g}"
        return text.replace(".", ",")
    return str(value)
