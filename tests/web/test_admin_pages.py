"""Administration as pages, on the demo region (SQLite and PostgreSQL): a network
administrator closes one of their schools for a quarantine and opens it again (and may
not close another network's school); the RCC adds and removes a school holiday of the
academic year; the RCC renames an organisation and moves its time zone, a stale form is
refused, the place in the tree is only shown. Each page is for the roles that manage it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of
from tests.web.test_request_pages import As, post


def test_a_network_closes_its_school_for_a_quarantine_and_opens_it_again(as_user: As) -> None:
    network = as_user("net20")
    landing = network.get("/admin", follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/admin/closures"
    page = network.get("/admin/closures?org=kem-school-12")
    assert "МБОУ «СОШ №12»" in page.text and "nvk-school-5" not in page.text
    assert "Каникулы" not in page.text  # the year's holidays are the RCC's

    added = post(network, "/admin/closures?org=kem-school-12", "/admin/closures", {
        "org": "kem-school-12", "start": "12.10.2026", "end": "16.10.2026",
        "reason": "Карантин по гриппу",
    })  # fmt: skip

    assert added.status_code == 303
    listed = network.get(added.headers["location"])
    assert "Карантин по гриппу" in listed.text and "12 октября 2026" in listed.text
    closure = re.search(r'action="/admin/closures/([^/]+)/delete"', listed.text)
    assert closure
    removed = post(network, "/admin/closures", f"/admin/closures/{closure.group(1)}/delete",
                   {"org": "kem-school-12"})  # fmt: skip
    assert removed.status_code == 303
    assert "Карантин по гриппу" not in network.get("/admin/closures?org=kem-school-12").text

    foreign = post(network, "/admin/closures", "/admin/closures", {
        "org": "nvk-school-5", "start": "2026-10-12", "end": "2026-10-16",
    })  # fmt: skip
    backwards = post(network, "/admin/closures", "/admin/closures", {
        "org": "kem-school-12", "start": "2026-10-16", "end": "2026-10-12",
    })  # fmt: skip
    not_a_date = post(network, "/admin/closures", "/admin/closures", {
        "org": "kem-school-12", "start": "31.02.2026", "end": "16.10.2026",
    })  # fmt: skip
    assert foreign.status_code == 403
    assert backwards.status_code == 422
    assert not_a_date.status_code == 422
    assert "«31.02.2026» — не дата: пишите так: 15.09.2026" in not_a_date.text


def test_the_rcc_adds_and_removes_a_school_holiday(as_user: As) -> None:
    rcc = as_user("rcc")
    page = rcc.get("/admin/closures")
    assert "Каникулы 2026-2027" in page.text and "Осенние каникулы" in page.text
    version = re.search(r'name="year" value="2026-2027"><input type="hidden" name="version" '
                        r'value="(\d+)"', page.text)  # fmt: skip
    assert version

    added = post(rcc, "/admin/closures", "/admin/holidays", {
        "year": "2026-2027", "version": version.group(1), "name": "Дополнительные каникулы",
        "start": "2027-02-15", "end": "2027-02-21",
    })  # fmt: skip
    assert added.status_code == 303
    after = rcc.get("/admin/closures")
    assert "Дополнительные каникулы" in after.text
    stale = post(rcc, "/admin/closures", "/admin/holidays/remove", {
        "year": "2026-2027", "version": version.group(1), "start": "2027-02-15",
    })  # fmt: skip
    assert stale.status_code == 412
    fresh = re.search(r'name="version" value="(\d+)"', after.text.split("holidays-h")[-1])
    assert fresh
    removed = post(rcc, "/admin/closures", "/admin/holidays/remove", {
        "year": "2026-2027", "version": fresh.group(1), "start": "2027-02-15",
    })  # fmt: skip
    assert removed.status_code == 303
    assert "Дополнительные каникулы" not in rcc.get("/admin/closures").text


def test_the_rcc_renames_an_organisation_and_moves_its_time_zone(as_user: As) -> None:
    rcc = as_user("rcc")
    listing = rcc.get("/admin/organisations")
    assert listing.status_code == 200
    assert 'href="/admin/organisations/kem-school-12"' in listing.text
    page = rcc.get("/admin/organisations/kem-school-12")
    assert "Сеть МБОУ «СОШ №20»" in page.text  # the parent, shown, not editable
    form = {"version": "1", "name": "МАОУ «СОШ №12 им. Н. Н. Колокольцова»",
            "time_zone": "Asia/Novosibirsk"}  # fmt: skip

    saved = post(rcc, "/admin/organisations/kem-school-12", "/admin/organisations/kem-school-12",
                 form)  # fmt: skip
    stale = post(rcc, "/admin/organisations/kem-school-12", "/admin/organisations/kem-school-12",
                 form)  # fmt: skip
    bad_zone = post(rcc, "/admin/organisations/kem-school-12",
                    "/admin/organisations/kem-school-12",
                    {**form, "version": "2", "time_zone": "Asia/Atlantis"})  # fmt: skip

    assert saved.status_code == 303
    after = rcc.get(saved.headers["location"])
    assert "Сохранено." in after.text and "Колокольцова" in after.text
    assert 'value="Asia/Novosibirsk"' in after.text
    assert stale.status_code == 412 and bad_zone.status_code == 422


def test_administration_pages_are_for_the_roles_that_manage(
    as_user: As, client: TestClient
) -> None:
    network = as_user("net20")
    assert network.get("/admin/organisations").status_code == 403
    teacher = as_user("teacher")
    refused = teacher.get("/admin")
    assert refused.status_code == 403 and "Нужна одна из ролей:" in refused.text
    assert teacher.get("/admin/closures").status_code == 403
    assert csrf_of(refused.text)
