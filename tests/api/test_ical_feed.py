"""The calendar feed is written directly (a tenth of the `icalendar` library's time for a
school's quarter); read back by that library it says exactly what the library itself
would have written — escaping, folding and all — and every line fits RFC 5545's 75 octets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from booking.bookings import Booking, BookingStatus, Occurrence, Participant, SessionKind
from booking.services.bookings import Session
from vks.api import ical

NOW = datetime(2026, 8, 25, 3, 0, tzinfo=UTC)
NAME = "ВКС: МБОУ «СОШ №20», корпус 2; актовый зал"


def sessions() -> list[Session]:
    """A quarter of lessons with everything a TEXT value must escape and long Cyrillic
    lines that must be folded between characters, never inside one."""
    found = []
    for k in range(21):
        booking = Booking(
            id=f"b-{k}",
            title=["Физика, 10 класс; сетевой курс", "Информатика\\Python", "Я" * 40][k % 3],
            kind=list(SessionKind)[k % len(SessionKind)],
            organiser_id="u-net20",
            owner_org_id="kem-net-20",
            host_school_id="kem-school-20",
            teacher="Иванова Мария Петровна",
            participants=[
                Participant("kem-school-20", "term-kem-20", "teacher"),
                Participant("ins-school-mp", "term-ins-mp", "class", "10Б"),
            ],
            subject=None if k % 4 == 0 else "Физика; углублённый курс, 2 ч",
            status=list(BookingStatus)[k % len(BookingStatus)],
            created_at=NOW,
        )
        start = datetime(2026, 11, 10, 2, 45, tzinfo=UTC) + timedelta(days=k)
        occurrence = Occurrence(
            f"b-{k}-{start:%m%d}",
            booking.id,
            start,
            start + timedelta(minutes=40),
            start - timedelta(minutes=10),
            start.date(),
            None if k % 5 == 0 else 3,
            terminal_ids=["term-kem-20", "term-ins-mp"] if k % 2 else [],
        )
        if k % 3 == 0:
            occurrence.teacher = "Петров Сергей Иванович"
            occurrence.moved_from = start - timedelta(days=1)
        occurrence.cancelled = k % 7 == 0
        found.append(Session(occurrence, booking))
    return found


def written_by_the_library(found: list[Session]) -> bytes:
    cal = Calendar()
    cal.add("prodid", ical.PRODUCT)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", NAME)
    for session in found:
        occurrence, booking = session.occurrence, session.booking
        event = Event()
        event.add("uid", f"{occurrence.id}@vks.kuzbass.example.ru")
        event.add("dtstamp", NOW)
        event.add("dtstart", occurrence.start)
        event.add("dtend", occurrence.end)
        event.add("summary", ical._summary(session))
        event.add("description", ical._description(session))
        event.add("status", ical._status(session))
        event.add("sequence", occurrence.version + booking.version - 1)
        event.add("categories", [str(booking.kind)])
        if booking.subject:
            event.add("x-vks-subject", booking.subject)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def read(feed: bytes) -> list[list[tuple[str, Any]]]:
    calendar = Calendar.from_ical(feed)
    return [
        [(k, v.to_ical() if hasattr(v, "to_ical") else v) for k, v in c.property_items()]
        for c in calendar.walk()
    ]


def test_the_feed_reads_back_as_the_icalendar_library_would_have_written_it() -> None:
    found = sessions()

    feed = ical.calendar(NAME, found, now=NOW, domain="vks.kuzbass.example.ru")

    assert read(feed) == read(written_by_the_library(found))
    event = Calendar.from_ical(feed).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Физика, 10 класс; сетевой курс"
    assert "Замена: вместо Иванова Мария Петровна" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CANCELLED"


def test_every_line_of_the_feed_fits_75_octets_and_ends_with_crlf() -> None:
    feed = ical.calendar(NAME, sessions(), now=NOW, domain="vks.kuzbass.example.ru")

    assert feed.endswith(b"END:VCALENDAR\r\n")
    lines = feed.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # long lines were folded
    for line in lines:
        line.decode()  # never folded inside a character


def test_a_local_time_feed_reads_back_in_each_events_zone_with_its_vtimezone() -> None:
    found = sessions()
    zones = {"b-0": ZoneInfo("Europe/Moscow")}  # one event in another zone

    def zone_of(session: Session) -> ZoneInfo:
        return zones.get(session.booking.id, ZoneInfo("Asia/Novokuznetsk"))

    body = ical.calendar(NAME, found, now=NOW, domain="vks.example.ru", zone_of=zone_of)

    calendar = Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [s.occurrence.start for s in found]
    assert [e.decoded("dtend") for e in events] == [s.occurrence.end for s in found]
    assert [str(e.decoded("dtstart").tzinfo) for e in events] == [str(zone_of(s)) for s in found]
    assert {str(t["TZID"]) for t in calendar.walk("VTIMEZONE")} == {
        "Asia/Novokuznetsk",
        "Europe/Moscow",
    }
    assert b"DTSTART;TZID=Europe/Moscow:20261110T054500\r\n" in body  # 02:45 UTC
    assert b"DTSTART;TZID=Asia/Novokuznetsk:20261111T094500\r\n" in body
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
