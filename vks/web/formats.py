"""Dates, times and numbers as the viewer reads them (Babel, ru_RU by default): a lesson's
time is shown in its school's zone, and the zone is named when it differs from the
viewer's own (a Kuzbass operator looking at a Mordovian lesson sees «09:00 (UTC+3, Москва)»)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    get_day_names,
    get_timezone_location,
)
from babel.numbers import format_decimal, format_percent

from booking.zones import utc_offset


def months_back(newest: str, count: int, chosen: str | None = None) -> list[str]:
    """`count` months ("YYYY-MM") from `newest` backwards, and `chosen` if it is older — the
    choices of a month picker named in the page's language (a native month input takes
    its names from the browser's locale, not the page's)."""
    year, number = (int(part) for part in newest.split("-"))
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{number:02d}")
        year, number = (year, number - 1) if number > 1 else (year - 1, 12)
    if chosen and chosen not in months:
        months.append(chosen)
    return months


@dataclass(frozen=True)
class Formats:
    locale: Locale | str  # a Babel locale, e.g. ru_RU (parsed once: Locale)
    zone: ZoneInfo  # the viewer's zone

    def _zone_suffix(self, moment: datetime, zone: ZoneInfo) -> str:
        if zone.key == self.zone.key:
            return ""
        offset = moment.astimezone(zone).utcoffset() or timedelta(0)
        if offset == (moment.astimezone(self.zone).utcoffset() or timedelta(0)):
            return ""
        return f" ({self.zone_name(zone, moment)})"

    def zone_name(self, zone: ZoneInfo | str, moment: datetime | None = None) -> str:
        """A zone (or its key) as people name it: its offset at `moment` (default: now) and
        its city in the page's language («UTC+3, Москва»), not its tz database key."""
        zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        return zone_named(zone, str(self.locale), moment)

    def time(self, moment: datetime | None, zone: ZoneInfo | None = None) -> str:
        """HH:MM in `zone` (default: the viewer's), naming the zone if it is another."""
        if moment is None:
            return "—"
        zone = zone or self.zone
        local = moment.astimezone(zone)  # "HH:mm" is written alike in every page language
        return f"{local.hour:02d}:{local.minute:02d}" + self._zone_suffix(moment, zone)

    def datetime(self, moment: datetime | None, zone: ZoneInfo | None = None) -> str:
        if moment is None:
            return "—"
        zone = zone or self.zone
        local = moment.astimezone(zone)
        text = format_datetime(local, "d MMM y, HH:mm", locale=self.locale)
        return text + self._zone_suffix(moment, zone)

    def date(self, day: date | None) -> str:
        if day is None:
            return "—"
        return format_date(day, "EEE, d MMMM y", locale=self.locale)

    def weekday(self, number: int) -> str:
        """Monday is 0, as `date.weekday()` counts: «понедельник»."""
        return str(get_day_names("wide", locale=self.locale)[number])

    def month(self, month: str) -> str:
        """"2026-09" as the page's language names it: «сентябрь 2026»."""
        year, number = (int(part) for part in month.split("-"))
        return format_date(date(year, number, 1), "LLLL y", locale=self.locale)

    def number(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        if type(value) is int and 0 <= value < 1000:  # no grouping, no sign: the digits
            return str(value)  # (Babel takes 20 µs a number: a board prints hundreds)
        return format_decimal(value, locale=self.locale)

    def percent(self, share: float | None) -> str:
        if share is None:
            return "—"
        return format_percent(share, "#,##0.0\xa0%", locale=self.locale)


def zone_named(zone: ZoneInfo, locale: str, moment: datetime | None = None) -> str:
    """«UTC+3, Москва»: a zone with its offset at `moment` (default: now) and its city in
    `locale`'s language."""
    offset = (moment or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta(0)
    return _zone_named(zone.key, locale, int(offset.total_seconds()))


@lru_cache(maxsize=512)
def _zone_named(key: str, locale: str, seconds: int) -> str:
    """«UTC+7, Новокузнецк» (made once per zone, language and offset: a grid names a zone
    on every row)."""
    utc = utc_offset(seconds)
    city = get_timezone_location(ZoneInfo(key), locale=locale, return_city=True)
    return f"{utc}, {city}" if city else utc
