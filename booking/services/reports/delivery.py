"""Scheduled delivery: on the first working day of a month (Monday to Friday, not a public
holiday of the academic year), each municipal coordinator gets the previous month's report
of the municipality, and the RCC the region overview — each once (the store notes what
was sent). This module decides what is due and builds the reports; the job that renders
and mails them is `vks.reports.delivery`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from booking.organisations import Organisation, OrgKind
from booking.schoolyear import AcademicYear
from booking.services.reports.monthly import Sources, build_monthly
from booking.services.reports.months import month_of, previous_month
from booking.services.reports.region import build_region


@dataclass(frozen=True)
class DueReport:
    key: str  # what the store notes as sent: "monthly:kemerovo:2026-11"
    org: Organisation
    emails: tuple[str, ...]
    subject: str
    text: str
    report: dict[str, Any]


def first_working_day(month_first: date, year: AcademicYear | None) -> date:
    day = month_first
    while day.weekday() >= 5 or (year is not None and year.is_public_holiday(day)):
        day += timedelta(days=1)
    return day


def _emails(org: Organisation) -> tuple[str, ...]:
    text = org.contacts.get("email", "")
    return tuple(a.strip() for a in text.replace(";", ",").split(",") if a.strip())


def due_reports(sources: Sources, now: datetime) -> list[DueReport]:
    """The reports due to be sent at `now` and not sent yet (each organisation's local date
    decides whether today is the first working day of its month)."""
    with sources.uow:
        orgs = list(sources.uow.organisations.list(0, 10**9))
    out: list[DueReport] = []
    for org in orgs:
        if org.kind not in (OrgKind.MUNICIPALITY, OrgKind.REGION) or not _emails(org):
            continue
        today = now.astimezone(org.zone).date()
        with sources.uow:
            year = sources.uow.academic_years.covering(today.replace(day=1))
        if today != first_working_day(today.replace(day=1), year):
            continue
        month = previous_month(month_of(today))
        kind = "monthly" if org.kind is OrgKind.MUNICIPALITY else "region"
        key = f"{kind}:{org.id}:{month}"
        if sources.store.delivered(key):
            continue
        if org.kind is OrgKind.MUNICIPALITY:
            closed = sources.store.closed_month(org.id, month)
            report = closed.report if closed else build_monthly(sources, org, month, now=now)
            subject = f"Ежемесячный отчёт ВКС за {month}: {org.name}"
        else:
            report = _region(sources, month, now)
            subject = f"Обзор ВКС региона за {month}"
        out.append(DueReport(key, org, _emails(org), subject, _text(report, month), report))
    return out


def _region(sources: Sources, month: str, now: datetime) -> dict[str, Any]:
    return build_region(sources, month, now=now)


def _text(report: dict[str, Any], month: str) -> str:
    t = report["totals"]
    rate = t["on_time_rate"]
    return (
        f"Отчёт за {month} во вложении (XLSX).\n"
        f"Уроков запланировано: {t['planned']}, проведено: {t['held']}"
        f" (вовремя: {t['on_time']}, с опозданием: {t['late']}, частично: {t['partial']}),"
        f" сорвано: {t['failed']}, отменено: {t['cancelled']}.\n"
        f"Доля вовремя: {'—' if rate is None else f'{rate * 100:.1f}%'}.\n\n"
        f"The report for {month} is attached (XLSX)."
    )
