"""Closing a month: the municipal coordinator closes a month of the municipality once it is
over — its report is stored as it stands and served as stored from then on, and
attendance of its lessons can no longer be recorded; the RCC may reopen it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from booking.access import Action, Principal, authorize
from booking.errors import Conflict
from booking.organisations import OrgKind
from booking.reports_store import ClosedMonth
from booking.services.reports.monthly import Sources, build_monthly, org
from booking.services.reports.months import days_of, parse_month


def close_month(
    sources: Sources, principal: Principal, municipality_id: str, month: str, *, now: datetime
) -> dict[str, Any]:
    """Freeze `month` of the municipality; returns the report as stored."""
    parse_month(month)
    municipality = org(sources.uow, municipality_id, (OrgKind.MUNICIPALITY,))
    authorize(principal, Action.CLOSE_MONTH, [municipality])
    over = datetime.combine(days_of(month)[1] + timedelta(days=1), time(0), UTC)
    if now < over:  # (UTC midnight: the month is over in every time zone of the country)
        raise Conflict(
            f"{month} is not over yet: a month is closed once its last day has passed",
            month=month,
        )
    if sources.store.closed_month(municipality.id, month) is not None:
        raise Conflict(
            f"{month} is already closed for {municipality.name}",
            month=month,
            org_id=municipality.id,
        )
    report = build_monthly(sources, municipality, month, now=now)
    report.update(closed=True, closed_by=principal.user_id, closed_at=now.isoformat())
    sources.store.close_month(
        ClosedMonth(municipality.id, municipality.path, month, principal.user_id, now, report)
    )
    return report


def reopen_month(sources: Sources, principal: Principal, municipality_id: str, month: str) -> None:
    """The RCC reopens a closed month: its report is computed afresh again and attendance
    may be recorded."""
    parse_month(month)
    municipality = org(sources.uow, municipality_id, (OrgKind.MUNICIPALITY,))
    authorize(principal, Action.REOPEN_MONTH, [municipality])
    if not sources.store.reopen_month(municipality.id, month):
        raise Conflict(
            f"{month} is not closed for {municipality.name}", month=month, org_id=municipality.id
        )
