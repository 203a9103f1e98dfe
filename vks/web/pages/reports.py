"""The reports (issue 16): the monthly municipal report with its charts, its XLSX and CSV
files and the closing (the municipal coordinator) and reopening (the RCC) of the month;
the region overview (the RCC); the base school's quarterly report. Every figure comes from
`booking.services.reports`, as `/api/v1/reports/…` answers them — the page only shows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.export.csv_text import csv_text
from adapters.export.svg import chart_svg
from adapters.export.xlsx import workbook
from booking.access import Action, Principal, authorize, visible
from booking.organisations import Organisation, OrgKind
from booking.services.reports import closing, monthly, quarterly, region
from booking.services.reports.months import month_of, previous_month
from booking.services.reports.periods import Period, quarters_of
from booking.services.reports.tables import Table, tables_of
from vks.bootstrap import report_sources
from vks.web.csrf import require_csrf
from vks.web.formats import months_back
from vks.web.rendering import render
from vks.web.session import CurrentViewer, Viewer, container_of, now_of

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH = r"^\d{4}-\d{2}$"
QUARTER = r"^\d{4}(-\d{4})?-Q[1-4]$"  # an academic year's quarter, or a calendar one
Month = Annotated[str, Path(pattern=MONTH)]
ChosenMonth = Annotated[str | None, Query(pattern=MONTH)]
ChosenQuarter = Annotated[str | None, Query(pattern=QUARTER)]
ChosenOrg = Annotated[str | None, Query(max_length=100)]
FILES = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8"}


def _last_month(request: Request, viewer: Viewer) -> str:
    """The month before the viewer's current one: the one a report is usually made of."""
    return previous_month(month_of(now_of(request).astimezone(viewer.zone).date()))


PICKED_MONTHS = 24  # the month picker: this month and the 23 before it


def _month_choices(request: Request, viewer: Viewer, chosen: str) -> list[str]:
    this_month = month_of(now_of(request).astimezone(viewer.zone).date())
    return months_back(this_month, PICKED_MONTHS, chosen)


def _quarters(request: Request, viewer: Viewer) -> tuple[list[Period], str]:
    """The academic years' quarters to choose from, and the one a report is usually made
    of: the last ended by today (the current one before the first ends). With no academic
    year stored, the calendar quarter before this one."""
    today = now_of(request).astimezone(viewer.zone).date()
    uow = container_of(request).reading_uow()
    with uow:
        years = list(uow.academic_years.list(0, 100))
    quarters = quarters_of(years)
    ended = [q for q in quarters if q.last < today]
    if ended:
        return quarters, ended[-1].key
    begun = [q for q in quarters if q.first <= today]
    if begun:
        return quarters, begun[-1].key
    if quarters:
        return quarters, quarters[0].key
    quarter = (today.month - 1) // 3  # the current one, counted from 0
    return [], f"{today.year - 1}-Q4" if quarter == 0 else f"{today.year}-Q{quarter}"


def _orgs(request: Request, principal: Principal, kind: OrgKind) -> list[Organisation]:
    """The organisations of `kind` the viewer may see, by name; of the schools, the base
    schools of the networks (the hosts of distance lessons) and the viewer's own."""
    uow = container_of(request).reading_uow()
    with uow:
        every = list(uow.organisations.list(0, 10**9))
    found = [o for o in every if o.kind is kind and visible(principal, o)]
    if kind is OrgKind.SCHOOL:
        hosts = {o.base_school_id for o in every if o.base_school_id} | {principal.org_id}
        found = [o for o in found if o.id in hosts]
    return sorted(found, key=lambda o: o.name)


def _charts(tables: list[Table]) -> list[tuple[str, str]]:
    """The charts of the report's tables with their titles, as the SVG the exports draw
    (our own markup, its texts escaped there: the template inlines it as it is)."""
    return [(t.chart.title, chart_svg(t)) for t in tables if t.chart is not None]


def _file(tables: list[Table], fmt: str, name: str) -> Response:
    content = workbook(tables) if fmt == "xlsx" else csv_text(tables).encode("utf-8")
    return Response(
        content,
        media_type=FILES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get("/reports")
async def reports(
    request: Request,
    viewer: CurrentViewer,
    municipality: ChosenOrg = None,
    month: ChosenMonth = None,
) -> Response:
    """The monthly report of a municipality of the viewer's scope."""
    authorize(viewer.principal, Action.READ_REPORTS)
    chosen_month = month or _last_month(request, viewer)

    def load() -> dict[str, Any]:
        municipalities = _orgs(request, viewer.principal, OrgKind.MUNICIPALITY)
        chosen = municipality or (municipalities[0].id if municipalities else None)
        if chosen is None:
            return {"municipalities": [], "municipality": None, "report": None}
        report = monthly.monthly_report(
            report_sources(container_of(request)), viewer.principal, chosen, chosen_month,
            now=now_of(request),
        )  # fmt: skip
        tables = tables_of(report)
        return {"municipalities": municipalities, "municipality": chosen, "report": report,
                "tables": tables, "charts": _charts(tables)}  # fmt: skip

    found = await run_in_threadpool(load)
    principal = viewer.principal
    return render(
        request, "reports.html", section="monthly", month=chosen_month,
        month_choices=_month_choices(request, viewer, chosen_month),
        can_close=principal.can(Action.CLOSE_MONTH), can_reopen=principal.can(Action.REOPEN_MONTH),
        can_region=principal.can(Action.READ_REGION_REPORTS), **found,
    )  # fmt: skip


@router.get("/reports/monthly/{municipality_id}/{month}.{fmt}")
async def monthly_file(
    request: Request,
    viewer: CurrentViewer,
    municipality_id: Annotated[str, Path(max_length=100)],
    month: Month,
    fmt: Annotated[str, Path(pattern="^(xlsx|csv)$")],
) -> Response:
    def load() -> Response:
        report = monthly.monthly_report(
            report_sources(container_of(request)), viewer.principal, municipality_id, month,
            now=now_of(request),
        )  # fmt: skip
        return _file(tables_of(report), fmt, f"monthly-{municipality_id}-{month}")

    return await run_in_threadpool(load)


def _back(municipality_id: str, month: str) -> RedirectResponse:
    return RedirectResponse(f"/reports?municipality={municipality_id}&month={month}", 303)


@router.post(
    "/reports/monthly/{municipality_id}/{month}/close", dependencies=[Depends(require_csrf)]
)
async def close_month(
    request: Request,
    viewer: CurrentViewer,
    municipality_id: Annotated[str, Path(max_length=100)],
    month: Month,
) -> Response:
    await run_in_threadpool(
        closing.close_month, report_sources(container_of(request)), viewer.principal,
        municipality_id, month, now=now_of(request),
    )  # fmt: skip
    return _back(municipality_id, month)


@router.post(
    "/reports/monthly/{municipality_id}/{month}/reopen", dependencies=[Depends(require_csrf)]
)
async def reopen_month(
    request: Request,
    viewer: CurrentViewer,
    municipality_id: Annotated[str, Path(max_length=100)],
    month: Month,
) -> Response:
    await run_in_threadpool(
        closing.reopen_month, report_sources(container_of(request)), viewer.principal,
        municipality_id, month,
    )  # fmt: skip
    return _back(municipality_id, month)


@router.get("/reports/region")
async def region_overview(
    request: Request, viewer: CurrentViewer, month: ChosenMonth = None
) -> Response:
    """The region overview (the RCC): every municipality, the worst schools and devices."""
    authorize(viewer.principal, Action.READ_REGION_REPORTS)
    chosen_month = month or _last_month(request, viewer)

    def load() -> dict[str, Any]:
        report = region.region_overview(
            report_sources(container_of(request)), viewer.principal, chosen_month,
            now=now_of(request),
        )  # fmt: skip
        tables = tables_of(report)
        return {"report": report, "tables": tables, "charts": _charts(tables)}

    found = await run_in_threadpool(load)
    return render(
        request, "reports.html", section="region", month=chosen_month, can_region=True,
        month_choices=_month_choices(request, viewer, chosen_month), **found,
    )  # fmt: skip


@router.get("/reports/region/{month}.{fmt}")
async def region_file(
    request: Request,
    viewer: CurrentViewer,
    month: Month,
    fmt: Annotated[str, Path(pattern="^(xlsx|csv)$")],
) -> Response:
    def load() -> Response:
        report = region.region_overview(
            report_sources(container_of(request)), viewer.principal, month, now=now_of(request)
        )
        return _file(tables_of(report), fmt, f"region-{month}")

    return await run_in_threadpool(load)


@router.get("/reports/quarterly")
async def quarterly_report(
    request: Request,
    viewer: CurrentViewer,
    school: ChosenOrg = None,
    quarter: ChosenQuarter = None,
) -> Response:
    """The base school's quarterly report: its distance teachers and courses."""
    authorize(viewer.principal, Action.READ_REPORTS)

    def load() -> dict[str, Any]:
        quarters, usual = _quarters(request, viewer)
        chosen_quarter = quarter or usual
        schools = _orgs(request, viewer.principal, OrgKind.SCHOOL)
        chosen = school or (schools[0].id if schools else None)
        if chosen is None:
            return {"schools": [], "school": None, "report": None, "quarter": chosen_quarter,
                    "quarters": quarters}  # fmt: skip
        report = quarterly.quarterly_report(
            report_sources(container_of(request)), viewer.principal, chosen, chosen_quarter,
            now=now_of(request),
        )  # fmt: skip
        return {"schools": schools, "school": chosen, "report": report,
                "tables": tables_of(report), "charts": [], "quarter": chosen_quarter,
                "quarters": quarters}  # fmt: skip

    found = await run_in_threadpool(load)
    return render(
        request, "reports.html", section="quarterly",
        can_region=viewer.principal.can(Action.READ_REGION_REPORTS), **found,
    )  # fmt: skip


@router.get("/reports/quarterly/{school_id}/{quarter}.{fmt}")
async def quarterly_file(
    request: Request,
    viewer: CurrentViewer,
    school_id: Annotated[str, Path(max_length=100)],
    quarter: Annotated[str, Path(pattern=QUARTER)],
    fmt: Annotated[str, Path(pattern="^(xlsx|csv)$")],
) -> Response:
    def load() -> Response:
        report = quarterly.quarterly_report(
            report_sources(container_of(request)), viewer.principal, school_id, quarter,
            now=now_of(request),
        )  # fmt: skip
        return _file(tables_of(report), fmt, f"quarterly-{school_id}-{quarter}")

    return await run_in_threadpool(load)
