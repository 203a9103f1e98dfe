"""The monthly report as people open it: the XLSX (read back with openpyxl) and the CSV
hold the figures of the JSON, the workbook has its charts, the SVG charts are pictures."""

from __future__ import annotations

import io
import zipfile
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest

from adapters.export.csv_text import csv_text
from adapters.export.svg import chart_svg
from adapters.export.xlsx import workbook
from booking.services.reports.monthly import monthly_report
from booking.services.reports.tables import tables_of
from tests.reports.world import (
    NOVEMBER,
    REPORTED,
    build_world,
    live_november,
    municipal_coordinator,
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    world = build_world(None)
    live_november(world)
    return monthly_report(
        world.sources, municipal_coordinator(), "kemerovo", NOVEMBER, now=REPORTED
    )


def test_the_workbook_holds_the_figures_of_the_report_and_its_charts(
    report: dict[str, Any],
) -> None:
    data = workbook(tables_of(report))

    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Школы", "По неделям", "Причины", "Сравнение"]
    sheet = book["Школы"]
    assert sheet["A1"].value == "Ежемесячный отчёт: Кемеровский городской округ, ноябрь 2026"
    headers = [c.value for c in sheet[3]]
    assert headers[:5] == ["Школа", "Запланировано", "Проведено", "Вовремя", "С опозданием"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0]}
    school_20 = rows["МБОУ «СОШ №20»"]
    column = {name: n for n, name in enumerate(headers)}
    assert school_20[column["Запланировано"]] == 6
    assert school_20[column["Вовремя"]] == 3
    assert school_20[column["Сорвано: оборудование (терминал)"]] == 1
    assert school_20[column["Отменено"]] == 1
    assert school_20[column["Присутствие класса"]] == pytest.approx(153 / 200, abs=1e-4)
    assert school_20[column["Подключились по ссылке"]] == 5
    assert rows["МБОУ «СОШ №41»"][column["Подключились по ссылке"]] == 0
    totals = rows["Итого"]
    assert totals[column["Запланировано"]] == report["totals"]["planned"] == 12
    assert totals[column["Доля вовремя"]] == report["totals"]["on_time_rate"] == 0.5
    assert sheet.cell(4, column["Доля вовремя"] + 1).number_format == "0.0%"
    charts = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("xl/charts/")]
    assert len(charts) == 3  # presence by school, on time by week, failures by cause


def test_the_csv_opens_in_a_russian_spreadsheet(report: dict[str, Any]) -> None:
    text = csv_text(tables_of(report))

    assert text.startswith("\ufeff")
    lines = text.splitlines()
    assert lines[1].startswith("Школа;Запланировано;Проведено;Вовремя")
    total = next(line for line in lines if line.startswith("Итого;"))
    assert total.split(";")[1] == "12"
    assert ";50,0;" in total  # on time, as per cent with a decimal comma
    headers = lines[1].split(";")
    assert total.split(";")[headers.index("Подключились по ссылке")] == "5"


def test_each_chart_is_an_svg_picture_with_its_labels(report: dict[str, Any]) -> None:
    schools, weeks, causes, _ = tables_of(report)

    for table in (schools, weeks, causes):
        picture = ElementTree.fromstring(chart_svg(table))
        assert picture.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in ElementTree.fromstring(chart_svg(schools)).iter() if t.text]
    assert "МБОУ «СОШ №20»" in texts and "76%" in texts  # 153 of 200 minutes, in whole per cent


def test_the_comparison_shows_its_rates_as_per_cent_and_its_counts_as_numbers(
    report: dict[str, Any],
) -> None:
    data = workbook(tables_of(report))
    text = csv_text(tables_of(report))

    sheet = openpyxl.load_workbook(io.BytesIO(data))["Сравнение"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=4) if r[0].value}
    on_time = rows["Доля вовремя"]
    assert on_time[2].value == report["totals"]["on_time_rate"] == 0.5
    assert [c.number_format for c in on_time[1:]] == ["0.0%"] * 3
    assert rows["Присутствие класса"][2].number_format == "0.0%"
    assert rows["Запланировано"][2].number_format == "General"
    assert rows["Запланировано"][2].value == 12
    last_block = text.split("\r\n\r\n")[-1]
    compared = {line.split(";")[0]: line.split(";") for line in last_block.splitlines()}
    assert compared["Доля вовремя"][2] == "50,0"
    assert compared["Запланировано"][2] == "12"
