"""Times on the pages: in the lesson's school's zone, with the zone named only when the
viewer's own differs; dates and numbers as Russians write them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.errors import InvalidInput
from vks.web.dates import day_of, written
from vks.web.formats import Formats, months_back

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


def test_a_zone_is_named_by_its_offset_and_city_not_its_key() -> None:
    ru, en = Formats("ru_RU", KEMEROVO), Formats("en_GB", KEMEROVO)

    assert ru.zone_name(KEMEROVO, LESSON) == "UTC+7, Новокузнецк"
    assert en.zone_name(MOSCOW, LESSON) == "UTC+3, Moscow"


def test_dates_and_numbers_are_written_the_russian_way() -> None:
    ru = Formats("ru_RU", KEMEROVO)

    assert ru.date(date(2026, 9, 15)) == "вт, 15 сентября 2026"
    assert ru.number(10000) == "10\xa0000"
    assert ru.number(1000) == "1\xa0000" and ru.number(999) == "999" and ru.number(0) == "0"
    assert ru.number(-5) == "-5" and ru.number(2.5) == "2,5"
    assert ru.percent(0.9876) == "98,8\xa0%"


def test_a_month_and_a_weekday_are_named_in_the_pages_language() -> None:
    ru, en = Formats("ru_RU", KEMEROVO), Formats("en_GB", KEMEROVO)

    assert ru.month("2026-09") == "сентябрь 2026" and en.month("2026-09") == "September 2026"
    assert ru.weekday(2) == "среда" and en.weekday(2) == "Wednesday"


def test_the_month_pickers_choices_go_back_from_this_month_and_keep_the_chosen_one() -> None:
    assert months_back("2027-02", 4) == ["2027-02", "2027-01", "2026-12", "2026-11"]
    assert months_back("2027-02", 2, chosen="2025-05") == ["2027-02", "2027-01", "2025-05"]


def test_a_date_field_reads_the_way_people_write_dates() -> None:
    assert day_of("15.09.2026") == day_of("15/09/2026") == day_of("2026-09-15") == date(2026, 9, 15)
    assert day_of(" ") is None
    assert written(date(2026, 9, 5), "ru") == "05.09.2026"
    assert written(date(2026, 9, 5), "en") == "05/09/2026"


def test_a_date_that_is_no_date_is_refused_in_words_a_page_translates() -> None:
    with pytest.raises(InvalidInput) as refused:
        day_of("31.02.2026")

    assert refused.value.words is not None
    assert refused.value.message == "«31.02.2026» is not a date: write it as 15.09.2026"
