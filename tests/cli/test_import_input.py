"""`vks import` refuses hostile or ambiguous files with the reason and writes nothing: YAML
aliases (an alias bomb of 384 bytes ran for minutes), nesting too deep to read, files over
`VKS_MAX_IMPORT_BYTES`, the same id twice in one import (both lines named), and values a
database would refuse or that exceed the API's limits (the same limits as the API)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from booking.services.region import find_region
from tests.cli.test_cli import CHEMISTRY, HEADER, PHYSICS, RCC, SECRET, run, small_region
from tests.conftest import empty_tables
from vks.bootstrap import Container, build_container
from vks.settings import Settings

ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
region: {id: kuzbass, name: Кузбасс, time_zone: Asia/Novokuznetsk, contacts: {phone: *g}}
"""  # 7 levels: 4.8 million strings once expanded (9 levels took 128 s and 9.2 GB)


@pytest.fixture
def database(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Container]:
    """An empty migrated database the command works on (through VKS_* variables)."""
    empty_tables(engine)
    monkeypatch.setenv("VKS_DATABASE_URL", database_url)
    monkeypatch.setenv("VKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VKS_SECRET_KEY", SECRET)
    yield build_container(Settings(database_url=database_url), engine=engine)


def nothing_imported(container: Container) -> bool:
    return find_region(container.uow_factory()) is None


def region_data(tmp_path: Path) -> dict[str, Any]:
    path, _ = small_region(tmp_path)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def write_yaml(tmp_path: Path, data: dict[str, Any], name: str = "region.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, width=200), encoding="utf-8")
    return path


def entry_lines(text: str, ident: str) -> list[int]:
    """The first lines of the entries (mappings) of a YAML text whose id is `ident`."""
    found = []
    root = yaml.compose(text)
    for _, section in root.value:
        for entry in section.value if isinstance(section, yaml.SequenceNode) else [section]:
            if isinstance(entry, yaml.MappingNode) and any(
                k.value == "id" and v.value == ident for k, v in entry.value
            ):
                found.append(entry.start_mark.line + 1)
    return found


# --- hostile files ------------------------------------------------------------------------------
def test_a_yaml_alias_bomb_is_refused_at_once(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB, encoding="utf-8")
    began = time.monotonic()

    code, _, err = run("import", str(bomb), capsys=capsys)

    assert code == 2
    assert time.monotonic() - began < 5
    assert "aliases" in err and "line 2" in err
    assert "Traceback" not in err
    assert nothing_imported(database)


@pytest.mark.parametrize(
    "text",
    ["region: " + "[" * 20_000 + "]" * 20_000, "region:\n" + "".join(
        " " * i + "- \n" for i in range(0, 4_000, 2))],
    ids=["flow", "block"],
)  # fmt: skip
def test_yaml_nested_too_deeply_is_refused_with_the_reason(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(text, encoding="utf-8")

    code, _, err = run("import", str(deep), capsys=capsys)

    assert code == 2
    assert "nests deeper than" in err
    assert "Traceback" not in err and "RecursionError" not in err


def test_a_file_over_the_import_size_limit_is_refused_unread(
    database: Container,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VKS_MAX_IMPORT_BYTES", "1024")
    region = write_yaml(tmp_path, region_data(tmp_path))
    assert region.stat().st_size > 1024

    code, _, err = run("import", str(region), capsys=capsys)

    assert code == 2
    assert "larger than the allowed 1024 bytes (VKS_MAX_IMPORT_BYTES)" in err
    assert nothing_imported(database)


# --- the same id twice --------------------------------------------------------------------------
def _twice(section: str, index: int = 0, **changes: Any) -> Any:
    def change(data: dict[str, Any]) -> str:
        entry = {**copy.deepcopy(data[section][index]), **changes}
        data[section].append(entry)
        return str(entry["id"])

    return change


@pytest.mark.parametrize(
    "duplicate",
    [
        pytest.param(_twice("schools", name="МБОУ «СОШ №20» (копия)"), id="school"),
        pytest.param(_twice("terminals", index=1), id="terminal"),
        pytest.param(_twice("bell_schedules"), id="bell-schedule"),
        pytest.param(_twice("academic_years"), id="academic-year"),
        pytest.param(_twice("networks"), id="network"),
        pytest.param(_twice("schools", id="kemerovo"), id="school-named-like-a-municipality"),
    ],
)
def test_the_same_id_twice_in_a_region_file_is_refused_naming_both_lines(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str], duplicate: Any
) -> None:
    data = region_data(tmp_path)
    ident = duplicate(data)
    text = yaml.safe_dump(data, allow_unicode=True, width=200, default_flow_style=False)
    region = tmp_path / "region.yaml"
    region.write_text(text, encoding="utf-8")
    lines = entry_lines(text, ident)

    code, _, err = run("import", str(region), capsys=capsys)

    assert code == 2, err
    assert f"duplicate id {ident}" in err
    first, second = lines
    assert f"line {second}" in err and f"line {first}" in err
    assert nothing_imported(database)


def test_the_same_external_ref_twice_in_a_csv_timetable_is_refused_naming_both_lines(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region, _ = small_region(tmp_path)
    assert run("import", str(region), capsys=capsys)[0] == 0
    csv = tmp_path / "timetable.csv"
    csv.write_text(HEADER + PHYSICS + CHEMISTRY + PHYSICS.replace(",tue,3,", ",wed,2,"))

    code, _, err = run("import", str(csv), capsys=capsys)

    assert code == 2
    assert "timetable.csv line 4: duplicate external_ref phys-10" in err
    assert "timetable.csv line 2" in err
    from booking.services import bookings

    assert bookings.list_bookings(database.uow_factory(), RCC) == []


# --- values a database would refuse -------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "changes", "reason"),
    [
        ("schools", {"address": "г. Кемерово\x00"}, "NUL"),
        ("schools", {"name": "Ш" * 301}, "at most 300 characters"),
        ("terminals", {"sip_address": "sip:" + "t" * 260}, "at most 255 characters"),
        ("municipalities", {"time_zone": "Asia/" + "x" * 64}, "at most 64 characters"),
    ],
)
def test_values_a_database_would_refuse_are_refused_by_the_importer(
    database: Container,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    section: str,
    changes: dict[str, str],
    reason: str,
) -> None:
    data = region_data(tmp_path)
    data[section][0].update(changes)

    code, _, err = run("import", str(write_yaml(tmp_path, data)), capsys=capsys)

    assert code == 2, err
    assert reason in err
    assert nothing_imported(database)


def test_a_class_name_over_64_characters_in_a_csv_is_refused(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region, _ = small_region(tmp_path)
    assert run("import", str(region), capsys=capsys)[0] == 0
    csv = tmp_path / "timetable.csv"
    csv.write_text(HEADER + PHYSICS.replace(":10А;", ":" + "10А" * 33 + ";"), encoding="utf-8")

    code, _, err = run("import", str(csv), capsys=capsys)

    assert code == 2
    assert "timetable.csv line 2: participants.0.class_name" in err


@pytest.mark.parametrize(
    "cell",
    [
        "kem-school-20:term-kem-20;;term-kem-12",  # an empty participant between separators
        "kem-school-20:term-kem-20:teacher:10А:extra",  # a fifth part
        "kem-school-20::teacher",  # an empty terminal before a preset
    ],
)
def test_a_malformed_participants_cell_is_refused_showing_the_expected_format(
    database: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str
) -> None:
    region, _ = small_region(tmp_path)
    assert run("import", str(region), capsys=capsys)[0] == 0
    csv = tmp_path / "timetable.csv"
    wrong = PHYSICS.replace(
        "kem-school-20:term-kem-20:teacher:10А; kem-school-12:term-kem-12:class:10Б", cell
    )
    csv.write_text(HEADER + wrong, encoding="utf-8")

    code, _, err = run("import", str(csv), capsys=capsys)

    assert code == 2
    assert "timetable.csv line 2: participants" in err
    assert "school:terminal:preset:class" in err
    assert "unknown organisation" not in err
