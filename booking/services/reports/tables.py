"""A report as tables people read: Russian headers, one table per sheet, the columns that
are shares marked as such, and the chart each table is drawn as. The spreadsheet, the CSV
and the chart pictures are rendered from these (`adapters/export/`), so every format
shows the same figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from booking.outcomes import CANCEL_CAUSES, FAILURE_CAUSES, Cause
from booking.services.reports.figures import RATES

MONTHS = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip


def month_named(month: str) -> str:
    """«2026-11» as people write it in a title: «ноябрь 2026»."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def _period(report: Mapping[str, Any], key: str) -> str:
    """The period as a title says it (reports stored before it was named: its key)."""
    return str(report.get("period") or report[key])


CAUSE_NAMES: Mapping[str, str] = {
    Cause.TERMINAL: "оборудование (терминал)",
    Cause.SERVER: "сервер ВКС",
    Cause.NOBODY_JOINED: "никто не подключился",
    Cause.AUTOMATION: "автоматика не запустила",
    Cause.OTHER: "прочее",
    Cause.SCHOOL: "школа",
    Cause.MUNICIPALITY: "муниципалитет",
    Cause.NETWORK: "сеть",
    Cause.RCC: "РЦК",
    Cause.SCHEDULER: "расписание",
    Cause.HOLD_EXPIRED: "бронь не подтверждена",
    Cause.UNKNOWN: "не указано",
}


@dataclass(frozen=True)
class Chart:
    kind: str  # "column" (bars up), "bar" (bars across), "line"
    title: str
    category: int  # the column of the categories
    value: int  # the column of the values
    share: bool = False  # values are shares (0…1), drawn as per cent


@dataclass(frozen=True)
class Table:
    name: str  # the sheet's name (≤ 31 characters)
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    shares: frozenset[int] = frozenset()  # columns holding shares (0…1)
    total: Sequence[Any] | None = None  # the "Итого" row
    chart: Chart | None = None
    widths: Mapping[int, int] = field(default_factory=dict)
    share_rows: frozenset[int] = frozenset()  # rows (0-based) whose values are all shares

    def is_share(self, row: int | None, col: int) -> bool:
        """Does the cell at `row` (None: the "Итого" row) and `col` hold a share? The
        first column names its row, so it never does."""
        return col in self.shares or (row is not None and row in self.share_rows and col > 0)


FIGURE_HEADERS = (
    "Запланировано",
    "Проведено",
    "Вовремя",
    "С опозданием",
    "Частично",
    *(f"Сорвано: {CAUSE_NAMES[c]}" for c in FAILURE_CAUSES),
    "Сорвано всего",
    "Отменено",
    "Перенесено",
    "Доля вовремя",
    "Присутствие класса",
    "Учеников отмечено",
    "Подключились по ссылке",
)


def figure_cells(f: Mapping[str, Any]) -> list[Any]:
    failed = f["failed_by_cause"]
    return [
        f["planned"],
        f["held"],
        f["on_time"],
        f["late"],
        f["partial"],
        *(failed.get(str(c), 0) for c in FAILURE_CAUSES),
        f["failed"],
        f["cancelled"],
        f["moved"],
        f["on_time_rate"],
        f["presence_rate"],
        f["pupils"],
        f.get("joined_by_link", 0),  # a month closed before it was counted: none
    ]


def _shares(first: int) -> frozenset[int]:
    rate = first + FIGURE_HEADERS.index("Доля вовремя")
    return frozenset({rate, rate + 1})


def failures_table(totals: Mapping[str, Any]) -> Table:
    rows: list[list[Any]] = [
        ["Сорвано: " + CAUSE_NAMES[c], totals["failed_by_cause"].get(str(c), 0)]
        for c in FAILURE_CAUSES
    ]
    rows += [
        ["Отменено: " + CAUSE_NAMES[c], totals["cancelled_by"].get(str(c), 0)]
        for c in CANCEL_CAUSES
    ]
    return Table(
        "Причины",
        "Сорванные и отменённые уроки по причинам",
        ("Причина", "Уроков"),
        rows,
        chart=Chart("bar", "Сбои по причинам", 0, 1),
        widths={0: 44},
    )


def weeks_table(weeks: Sequence[Mapping[str, Any]]) -> Table:
    return Table(
        "По неделям",
        "Доля уроков, проведённых вовремя, по неделям",
        ("Неделя (с понедельника)", "Запланировано", "Вовремя", "Доля вовремя"),
        [[w["week"], w["planned"], w["on_time"], w["on_time_rate"]] for w in weeks],
        shares=frozenset({3}),
        chart=Chart("line", "Доля уроков вовремя по неделям", 0, 3, share=True),
        widths={0: 24},
    )


def monthly_tables(report: Mapping[str, Any]) -> list[Table]:
    headers = ("Школа", *FIGURE_HEADERS, "Доступность терминалов")
    rows = [[r["school"], *figure_cells(r), r["availability"]] for r in report["schools"]]
    totals = report["totals"]
    shares = _shares(1) | {len(headers) - 1}
    schools = Table(
        "Школы",
        f"Ежемесячный отчёт: {report['municipality']}, {month_named(report['month'])}",
        headers,
        rows,
        shares=shares,
        total=["Итого", *figure_cells(totals), totals["availability"]],
        chart=Chart(
            "bar",
            "Присутствие класса по школам",
            0,
            1 + FIGURE_HEADERS.index("Присутствие класса"),
            share=True,
        ),
        widths={0: 36},
    )
    change = report["change"]
    before, now = month_named(report["previous_month"]), month_named(report["month"])
    compare = Table(
        "Сравнение",
        "Сравнение с предыдущим месяцем",
        ("Показатель", before, now, "Изменение"),
        [[name, report["previous"][key], totals[key], change[key]] for key, name in COMPARED],
        share_rows=frozenset(n for n, (key, _) in enumerate(COMPARED) if key in RATES),
        widths={0: 30},
    )
    return [schools, weeks_table(report["weeks"]), failures_table(totals), compare]


COMPARED = (
    ("planned", "Запланировано"),
    ("held", "Проведено"),
    ("on_time", "Вовремя"),
    ("late", "С опозданием"),
    ("partial", "Частично"),
    ("failed", "Сорвано"),
    ("cancelled", "Отменено"),
    ("pupils", "Учеников отмечено"),
    ("on_time_rate", "Доля вовремя"),
    ("presence_rate", "Присутствие класса"),
)


def region_tables(report: Mapping[str, Any]) -> list[Table]:
    headers = ("Муниципалитет", *FIGURE_HEADERS)
    municipalities = Table(
        "Муниципалитеты",
        f"Обзор региона за {month_named(report['month'])}",
        headers,
        [[r["municipality"], *figure_cells(r)] for r in report["municipalities"]],
        shares=_shares(1),
        total=["Итого", *figure_cells(report["totals"])],
        chart=Chart(
            "bar",
            "Доля уроков вовремя по муниципалитетам",
            0,
            1 + FIGURE_HEADERS.index("Доля вовремя"),
            share=True,
        ),
        widths={0: 36},
    )
    worst_schools = Table(
        "Худшие школы",
        "Школы с наименьшей долей уроков вовремя",
        ("Школа", "Муниципалитет", *FIGURE_HEADERS),
        [[r["school"], r["municipality"], *figure_cells(r)] for r in report["worst_schools"]],
        shares=_shares(2),
        widths={0: 36, 1: 30},
    )
    worst_devices = Table(
        "Худшие устройства",
        "Терминалы с наименьшей доступностью в дни уроков",
        ("Терминал", "Школа", "Доступность"),
        [[r["terminal"], r["school"], r["availability"]] for r in report["worst_devices"]],
        shares=frozenset({2}),
        widths={0: 30, 1: 36},
    )
    return [
        municipalities,
        weeks_table(report["weeks"]),
        failures_table(report["totals"]),
        worst_schools,
        worst_devices,
    ]


def quarterly_tables(report: Mapping[str, Any]) -> list[Table]:
    headers = ("Преподаватель", "Курс", "Уроков проведено", "Школ обслужено", *FIGURE_HEADERS)
    totals = report["totals"]
    courses = Table(
        "Курсы",
        f"Отчёт базовой школы: {report['school']}, {_period(report, 'quarter')}",
        headers,
        [
            [r["teacher"], r["course"], r["lessons_given"], r["schools_served"], *figure_cells(r)]
            for r in report["courses"]
        ],
        shares=_shares(4),
        total=[
            "Итого",
            "",
            totals["lessons_given"],
            totals["schools_served"],
            *figure_cells(totals),
        ],
        widths={0: 32, 1: 28},
    )
    return [courses, failures_table(totals)]


QUALITY_HEADERS = (
    "Запланировано",
    "Проведено",
    "Доля вовремя",
    "Доля сорванных",
    "Среднее опоздание, мин",
    "Присутствие класса",
    "Доступность терминалов",
)


def _quality_cells(r: Mapping[str, Any]) -> list[Any]:
    late = r["mean_late_s"]
    return [
        r["planned"],
        r["held"],
        r["on_time_rate"],
        r["failure_rate"],
        round(late / 60, 1) if late is not None else None,
        r["presence_rate"],
        r.get("availability"),
    ]


def quality_tables(report: Mapping[str, Any]) -> list[Table]:
    shares = frozenset({3, 4, 6, 7})
    out = []
    for key, name, title in (
        ("municipalities", "Муниципалитеты", "Муниципалитет"),
        ("networks", "Сети", "Сеть"),
    ):
        out.append(
            Table(
                name,
                f"Мониторинг качества услуги: {name.lower()}, {_period(report, 'half_year')}",
                (title, *QUALITY_HEADERS),
                [[r["name"], *_quality_cells(r)] for r in report[key]],
                shares=shares,
                chart=Chart("bar", f"Доля уроков вовремя: {name.lower()}", 0, 3, share=True),
                widths={0: 36},
            )
        )
    return out


def tables_of(report: Mapping[str, Any]) -> list[Table]:
    kind = report["report"]
    if kind == "monthly":
        return monthly_tables(report)
    if kind == "region":
        return region_tables(report)
    if kind == "quarterly":
        return quarterly_tables(report)
    if kind == "quality":
        return quality_tables(report)
    raise ValueError(f"no tables for a {kind} report")
