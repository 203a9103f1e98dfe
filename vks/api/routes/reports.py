"""The reports and attendance (issue 17): the monthly municipal report and the region
overview as JSON, XLSX or CSV and their charts as SVG; closing and reopening a month;
pupils recorded per lesson and school. Every figure comes from
`booking.services.reports`; the routes only translate."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from adapters.export.csv_text import csv_text
from adapters.export.svg import chart_svg
from adapters.export.xlsx import workbook
from booking.errors import NotFound
from booking.services.reports import attendance, closing, monthly, quality, quarterly, region
from booking.services.reports.periods import PERIOD_HELP
from booking.services.reports.tables import Table, tables_of
from vks.api.dependencies import Ctx
from vks.api.schemas.common import problem_responses
from vks.bootstrap import report_sources

router = APIRouter(prefix="/reports", tags=["reports"])
lessons = APIRouter(prefix="/occurrences", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", description="the month, YYYY-MM")]
Format = Annotated[Literal["json", "xlsx", "csv"], Query(description="json, xlsx or csv")]
FORMATS: dict[int | str, Any] = {
    200: {
        "description": "the report: JSON, or the XLSX or CSV file (`format`)",
        "content": {"application/json": {}, XLSX: {}, "text/csv": {}},
    }
}
SVG: dict[int | str, Any] = {200: {"description": "the chart", "content": {"image/svg+xml": {}}}}


def answers(*statuses: int, formats: dict[int | str, Any] = FORMATS) -> dict[int | str, Any]:
    return {**formats, **problem_responses(*statuses)}


CHARTS = {"schools": 0, "weeks": 1, "causes": 2}  # the monthly report's tables with a chart
REGION_CHARTS = {"municipalities": 0, "weeks": 1, "causes": 2}


def _answer(report: dict[str, Any], fmt: str, name: str) -> Any:
    if fmt == "json":
        return report
    tables = tables_of(report)
    if fmt == "xlsx":
        return Response(
            workbook(tables),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        csv_text(tables).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _svg(tables: list[Table], charts: dict[str, int], chart: str) -> Response:
    if chart not in charts:
        raise NotFound(f"no chart {chart!r}: one of {', '.join(charts)}", chart=chart)
    return Response(chart_svg(tables[charts[chart]]), media_type="image/svg+xml")


@router.get("/monthly/{municipality_id}/{month}", responses=answers(401, 403, 404, 422))
def monthly_report(municipality_id: str, month: Month, ctx: Ctx, format: Format = "json") -> Any:
    """The monthly report of a municipality: per school, lessons planned, held on time,
    late, partly held, failed by cause, cancelled; presence, pupils, people joined by the
    web link, availability; totals and the change from the month before (as stored, if the
    month is closed)."""
    report = monthly.monthly_report(
        report_sources(ctx.container), ctx.principal, municipality_id, month, now=ctx.now
    )
    return _answer(report, format, f"monthly-{municipality_id}-{month}")


@router.get(
    "/monthly/{municipality_id}/{month}/charts/{chart}.svg",
    responses=answers(401, 403, 404, 422, formats=SVG),
    response_class=Response,
)
def monthly_chart(municipality_id: str, month: Month, chart: str, ctx: Ctx) -> Response:
    """A chart of the monthly report: `schools` (presence by school), `weeks` (on-time
    rate by week), `causes` (failures and cancellations by cause)."""
    report = monthly.monthly_report(
        report_sources(ctx.container), ctx.principal, municipality_id, month, now=ctx.now
    )
    return _svg(tables_of(report), CHARTS, chart)


@router.post(
    "/monthly/{municipality_id}/{month}/close", responses=problem_responses(401, 403, 404, 409)
)
def close_month(municipality_id: str, month: Month, ctx: Ctx) -> dict[str, Any]:
    """Close the month: its report is stored as it stands and attendance is frozen."""
    return closing.close_month(
        report_sources(ctx.container), ctx.principal, municipality_id, month, now=ctx.now
    )


@router.post(
    "/monthly/{municipality_id}/{month}/reopen",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409),
)
def reopen_month(municipality_id: str, month: Month, ctx: Ctx) -> Response:
    """The RCC reopens a closed month."""
    closing.reopen_month(report_sources(ctx.container), ctx.principal, municipality_id, month)
    return Response(status_code=204)


@router.get("/region/{month}", responses=answers(401, 403, 422))
def region_overview(month: Month, ctx: Ctx, format: Format = "json") -> Any:
    """The region overview for the RCC: every municipality's figures, the totals, the
    worst schools and devices."""
    report = region.region_overview(
        report_sources(ctx.container), ctx.principal, month, now=ctx.now
    )
    return _answer(report, format, f"region-{month}")


@router.get(
    "/region/{month}/charts/{chart}.svg",
    responses=answers(401, 403, 404, 422, formats=SVG),
    response_class=Response,
)
def region_chart(month: Month, chart: str, ctx: Ctx) -> Response:
    report = region.region_overview(
        report_sources(ctx.container), ctx.principal, month, now=ctx.now
    )
    return _svg(tables_of(report), REGION_CHARTS, chart)


Period = Annotated[
    str, Path(pattern=r"^\d{4}(-\d{4})?-(Q[1-4]|H[12])$", description=PERIOD_HELP)
]


@router.get("/quarterly/{school_id}/{quarter}", responses=answers(401, 403, 404, 422))
def quarterly_report(school_id: str, quarter: Period, ctx: Ctx, format: Format = "json") -> Any:
    """The base school's quarterly report: per distance teacher and course, the lessons
    given, schools and pupils served, problems — over a quarter of the academic year
    (`2026-2027-Q2`: its dates as the year says) or a calendar quarter (`2026-Q4`)."""
    report = quarterly.quarterly_report(
        report_sources(ctx.container), ctx.principal, school_id, quarter, now=ctx.now
    )
    return _answer(report, format, f"quarterly-{school_id}-{quarter}")


@router.get("/quality/{half_year}", responses=answers(401, 403, 404, 422))
def quality_report(half_year: Period, ctx: Ctx, format: Format = "json") -> Any:
    """The half-year service quality, per municipality and network: a half of the academic
    year (`2026-2027-H1`: its first two quarters) or of the calendar (`2026-H2`)."""
    report = quality.quality_report(
        report_sources(ctx.container), ctx.principal, half_year, now=ctx.now
    )
    return _answer(report, format, f"quality-{half_year}")


class PupilsIn(BaseModel):
    present: int = Field(ge=0, le=attendance.MAX_PUPILS, description="pupils present")
    absent: list[str] = Field(default_factory=list, description="absent pupils by name")


@lessons.put(
    "/{occurrence_id}/attendance/{school_id}",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def record_pupils(occurrence_id: str, school_id: str, body: PupilsIn, ctx: Ctx) -> dict[str, Any]:
    """The tutor or school coordinator records the pupils of the school's class present
    (from the lesson's start on, until the month is closed)."""
    sources = report_sources(ctx.container)
    record = attendance.record_pupils(
        ctx.uow(),
        sources.store,
        ctx.principal,
        occurrence_id,
        school_id,
        attendance.PupilsPresent(body.present, body.absent),
        now=ctx.now,
    )
    return {
        "occurrence_id": record.occurrence_id,
        "school_id": record.school_id,
        "present": record.present,
        "absent": list(record.absent),
        "recorded_by": record.by,
        "recorded_at": record.at.isoformat(),
    }


@lessons.get("/{occurrence_id}/attendance", responses=problem_responses(401, 403, 404))
def lesson_attendance(occurrence_id: str, ctx: Ctx) -> dict[str, Any]:
    """A lesson's attendance per school: minutes in the room, pupils recorded; the most
    people in the room by its web link at once (on the host school's row)."""
    sources = report_sources(ctx.container)
    return attendance.lesson_attendance(ctx.uow(), sources.store, ctx.principal, occurrence_id)
