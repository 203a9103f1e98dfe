"""Times on the pages: in the lesson's school's zone, with the zone named only when the
viewer's own differs; dates and numbers as Russians write them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from vks.web.formats import Formats

KEMEROVO = ZoneInfo("Asia/Novokuznetsk")  # UTC+7
MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3 (Mordovia)
LESSON = datetime(2026, 9, 15, 6, 0, tzinfo=UTC)  # 13:00 in Kemerovo, 09:00 in Saransk


def test_a_lesson_in_the_viewers_own_zone_has_no_zone_named() -> None:
    kuzbass_operator = Formats("ru_RU", KEMEROVO)

    assert kuzbass_operator.time(LESSON, KEMEROVO) == "13:00"


def test_a_mordovian_lesson_seen_from_kuzbass_names_its_zone() -> None:
    kuzbass_operator = Formats("ru_RU", KEMEROVO)

    shown = kuzbass_operator.time(LESSON, MOSCOW)

    assert shown == "09:00 (UTC+3, Москва)"


def test_dates_and_numbers_are_written_the_russian_way() -> None:
    ru = Formats("ru_RU", KEMEROVO)

    assert ru.date(date(2026, 9, 15)) == "вт, 15 сентября 2026"
    assert ru.number(10000) == "10\xa0000"
    assert ru.percent(0.9876) == "98,8\xa0%"
