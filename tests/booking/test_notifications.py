"""Notifications through the service layer, on memory, SQLite and PostgreSQL: a booking's
events reach the inboxes of the people concerned (active ones, once), their channels are
respected, a flood of e-mails is folded into a digest, deadlines are reminded once, and
every change leaves its entry in the audit trail, read by scope. A moved lesson is told
to each school in its own local time (UTC+7 Kemerovo, UTC+3 Mordovia)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.access import Principal, Role
from booking.audit import BOOKING_CANCELLED, BOOKING_CREATED, TIMETABLE_LOADED, AuditFilter
from booking.bookings import Participant
from booking.errors import BookingConflict, Forbidden, InvalidInput, NotFound
from booking.events import ParticipantInvited
from booking.messagebus import MessageBus
from booking.notices import Notice
from booking.notifications import Channel, Deadline, DigestRule
from booking.repository import UnitOfWork
from booking.services import auditing, notifying
from booking.services.bookings import (
    cancel_booking,
    create_booking,
    move_occurrence,
    upsert_timetable,
)
from booking.users import User
from tests.booking.kuzbass import BEFORE_YEAR, Region
from tests.booking.test_invitations import across_networks, nvk_own_lesson

UowFactory = Callable[[], UnitOfWork]
NOW = BEFORE_YEAR
CONFIG = notifying.NotifyConfig(
    digest=DigestRule(after=3, window=timedelta(minutes=15)),
    channels=frozenset({Channel.EMAIL, Channel.WEBHOOK}),
    base_url="https://vks.kuzbass.example.ru",
)

PEOPLE = [
    # (id, role, organisation, e-mail, active)
    ("coord-nvk-5", Role.LOCAL_COORDINATOR, "nvk-school-5", "coord@nvk5.example.ru", True),
    ("teacher-nvk-5", Role.TEACHER, "nvk-school-5", "teacher@nvk5.example.ru", False),
    ("admin-nvk-net-1", Role.NETWORK_ADMIN, "nvk-net-1", None, True),
    ("admin-kem-net-1", Role.NETWORK_ADMIN, "kem-net-1", "net@kem.example.ru", True),
    ("coord-kem-20", Role.LOCAL_COORDINATOR, "kem-school-20", "coord@kem20.example.ru", True),
    ("mun-kemerovo", Role.MUNICIPAL_COORDINATOR, "kemerovo", None, True),
    ("mun-nvk", Role.MUNICIPAL_COORDINATOR, "novokuznetsk", None, True),
]


@pytest.fixture
def people(uow_factory: UowFactory, region: Region) -> dict[str, Principal]:
    with uow_factory() as uow:
        for user_id, role, org_id, email, active in PEOPLE:
            uow.users.add(
                User(user_id, user_id, "not-a-password", role, org_id, active=active, email=email)
            )
        paths = {o.id: o.path for o in uow.organisations.list(0, 100)}
        uow.commit()
    return {u: Principal(u, role, org, paths[org]) for u, role, org, _, _ in PEOPLE}


@pytest.fixture
def told(bus: MessageBus, uow_factory: UowFactory, people: dict[str, Principal]) -> None:
    """The notifications subscribed to the bus the units of work publish on."""
    notifying.subscribe(bus, uow_factory, lambda: NOW, CONFIG)


def inbox(uow_factory: UowFactory, user_id: str) -> list[tuple[str, str]]:
    with uow_factory() as uow:
        return [(i.kind, i.title_ru) for i in uow.notifications.of_user(user_id)]


def outbox(uow_factory: UowFactory, user_id: str) -> list[tuple[Channel, str, bool]]:
    with uow_factory() as uow:
        return sorted((d.channel, d.kind, d.digest) for d in uow.notifications.deliveries(user_id))


@pytest.mark.usefixtures("told")
def test_an_invited_school_and_its_network_hear_of_the_invitation_once(
    uow_factory: UowFactory, region: Region, bus: MessageBus
) -> None:
    created = create_booking(uow_factory(), region.network_admin, across_networks(), now=NOW)
    bus.publish([ParticipantInvited(created.booking.id, ("nvk-school-5",))])  # told again

    for person in ("coord-nvk-5", "admin-nvk-net-1"):
        [(kind, title)] = inbox(uow_factory, person)
        assert kind == "booking.invited"
        assert "МБОУ «СОШ №5»" in title and "Астрономия, 11 класс" in title
    assert inbox(uow_factory, "coord-kem-20") == []  # the host school is not invited
    # the coordinator has an address: an e-mail and a webhook call wait in the outbox;
    # the network admin has none: the webhook only
    assert outbox(uow_factory, "coord-nvk-5") == [
        (Channel.EMAIL, "booking.invited", False),
        (Channel.WEBHOOK, "booking.invited", False),
    ]
    assert outbox(uow_factory, "admin-nvk-net-1") == [(Channel.WEBHOOK, "booking.invited", False)]


@pytest.mark.usefixtures("told")
def test_a_cancelled_lesson_reaches_the_schools_people_but_not_inactive_users(
    uow_factory: UowFactory, region: Region
) -> None:
    created = create_booking(uow_factory(), region.network_admin, across_networks(), now=NOW)

    cancel_booking(uow_factory(), region.rcc, created.booking.id, now=NOW)

    assert (
        "booking.cancelled",
        "Отменено: «Астрономия, 11 класс» (учитель Иванова Анна Петровна)",
    ) in inbox(uow_factory, "coord-nvk-5")
    assert [k for k, _ in inbox(uow_factory, "coord-kem-20")] == ["booking.cancelled"]
    assert [k for k, _ in inbox(uow_factory, "admin-kem-net-1")] == ["booking.cancelled"]
    assert inbox(uow_factory, "teacher-nvk-5") == []  # deactivated
    assert outbox(uow_factory, "teacher-nvk-5") == []


@pytest.mark.usefixtures("told")
def test_a_person_who_chose_the_inbox_only_gets_no_email(
    uow_factory: UowFactory, region: Region, people: dict[str, Principal]
) -> None:
    coordinator = people["coord-kem-20"]
    notifying.set_preferences(
        uow_factory(), coordinator, {"booking.cancelled": [Channel.INBOX], "*": [Channel.EMAIL]}
    )
    created = create_booking(uow_factory(), region.network_admin, across_networks(), now=NOW)

    cancel_booking(uow_factory(), region.rcc, created.booking.id, now=NOW)

    assert [k for k, _ in inbox(uow_factory, "coord-kem-20")] == ["booking.cancelled"]
    assert outbox(uow_factory, "coord-kem-20") == []
    chosen = notifying.preferences(uow_factory(), coordinator)
    assert chosen.channels == {
        "booking.cancelled": frozenset({Channel.INBOX}),
        "*": frozenset({Channel.EMAIL, Channel.INBOX}),
    }
    assert chosen.email == "coord@kem20.example.ru"


def test_preferences_refuse_a_malformed_address_and_kind(
    uow_factory: UowFactory, people: dict[str, Principal]
) -> None:
    with pytest.raises(InvalidInput):
        notifying.set_preferences(
            uow_factory(), people["coord-nvk-5"], {}, email="не адрес", change_email=True
        )
    with pytest.raises(InvalidInput):
        notifying.set_preferences(uow_factory(), people["coord-nvk-5"], {"два слова": []})


def notice(number: int, *, urgent: bool = False) -> Notice:
    return Notice(
        kind="lesson.at_risk",
        key=f"test:{number}",
        org_id=None,
        user_ids=("coord-nvk-5",),
        title_ru=f"Урок {number} под угрозой",
        title_en=f"Lesson {number} at risk",
        urgent=urgent,
    )


def test_a_flood_of_emails_is_folded_into_one_digest_but_urgent_ones_go_at_once(
    uow_factory: UowFactory, people: dict[str, Principal]
) -> None:
    for number in range(1, 8):
        at = NOW + timedelta(minutes=number)
        with uow_factory() as uow:
            notifying.tell(uow, [notice(number, urgent=number == 6)], now=at, config=CONFIG)
            uow.commit()

    with uow_factory() as uow:
        emails = [d for d in uow.notifications.deliveries("coord-nvk-5") if d.channel == "email"]
    assert [d.digest for d in emails] == [False, False, False, True, True, False, True]
    assert [d.due_at for d in emails if not d.digest] == [
        NOW + timedelta(minutes=m) for m in (1, 2, 3, 6)
    ]
    # every waiting one goes out with the first one's digest, at the end of its window
    assert {d.due_at for d in emails if d.digest} == {NOW + timedelta(minutes=4 + 15)}
    assert len(inbox(uow_factory, "coord-nvk-5")) == 7  # the inbox has every one


def test_the_inbox_is_paged_counted_and_marked_read_by_its_owner_only(
    uow_factory: UowFactory, people: dict[str, Principal]
) -> None:
    with uow_factory() as uow:
        notifying.tell(uow, [notice(n) for n in (1, 2, 3)], now=NOW, config=CONFIG)
        uow.commit()
    coordinator = people["coord-nvk-5"]
    page = notifying.inbox_page(uow_factory(), coordinator, offset=0, limit=2)
    assert page.total == 3 and len(page.items) == 2

    read = notifying.mark_read(uow_factory(), coordinator, page.items[0].id, now=NOW)

    assert read.read_at == NOW
    assert notifying.unread_count(uow_factory(), coordinator) == 2
    with pytest.raises(NotFound):  # somebody else's notification is not even named
        notifying.mark_read(uow_factory(), people["coord-kem-20"], page.items[1].id, now=NOW)
    assert notifying.mark_all_read(uow_factory(), coordinator, now=NOW) == 2
    assert notifying.inbox_page(uow_factory(), coordinator, unread_only=True).total == 0


def test_a_deadline_is_reminded_once_to_the_people_whose_turn_it_is(
    uow_factory: UowFactory, region: Region, people: dict[str, Principal]
) -> None:
    due = date(2027, 1, 10)
    deadline = Deadline(
        id="q3-combined",
        kind="combined_request",
        period="2026/27, 3 четверть",
        due_on=due,
        scope_org_id="kuzbass",
        roles=frozenset({Role.NETWORK_ADMIN}),
        remind_days=3,
        title="Сводные заявки на 3 четверть",
    )
    notifying.add_deadline(uow_factory(), region.rcc, deadline, now=NOW)
    with pytest.raises(Forbidden):
        notifying.add_deadline(uow_factory(), region.network_admin, deadline, now=NOW)

    def remind(on: date) -> list[str]:
        at = datetime(on.year, on.month, on.day, 2, 0, tzinfo=UTC)
        return notifying.send_reminders(uow_factory(), now=at, config=CONFIG)

    assert remind(date(2027, 1, 6)) == []  # four days before: not yet
    assert remind(date(2027, 1, 7)) == ["q3-combined"]
    assert remind(date(2027, 1, 8)) == []  # once

    for admin in ("admin-kem-net-1", "admin-nvk-net-1"):
        [(kind, title)] = inbox(uow_factory, admin)
        assert kind == "deadline.reminder"
        assert title == "Срок: Сводные заявки на 3 четверть (2026/27, 3 четверть) — до 10.01.2027"
    assert inbox(uow_factory, "coord-nvk-5") == []  # not a network administrator
    assert [d.id for d in notifying.deadlines(uow_factory(), people["admin-nvk-net-1"])] == [
        "q3-combined"
    ]


def test_bookings_leave_an_append_only_trail_read_by_scope(
    uow_factory: UowFactory, region: Region, people: dict[str, Principal]
) -> None:
    created = create_booking(uow_factory(), region.network_admin, across_networks(), now=NOW)
    with pytest.raises(BookingConflict):  # refused: nothing written, nothing in the trail
        create_booking(uow_factory(), region.other_network_admin, nvk_own_lesson(), now=NOW)
    cancel_booking(uow_factory(), region.rcc, created.booking.id, now=NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=2)
    create_booking(uow_factory(), region.other_network_admin, nvk_own_lesson(), now=later)

    everything = auditing.audit_page(uow_factory(), region.rcc, AuditFilter(), offset=0, limit=10)
    assert [(e.action, e.actor_id) for e in everything.items] == [
        (BOOKING_CREATED, "admin-kem-net-1"),
        (BOOKING_CANCELLED, "rcc-operator"),
        (BOOKING_CREATED, "admin-nvk-net-1"),
    ]
    kemerovo = auditing.audit_page(
        uow_factory(), people["mun-kemerovo"], AuditFilter(), offset=0, limit=10
    )
    assert {e.object_id for e in kemerovo.items} == {created.booking.id}
    assert kemerovo.total == 2
    # asking for another municipality's subtree gives the caller's own, never the other's
    other = auditing.audit_page(
        uow_factory(),
        people["mun-nvk"],
        AuditFilter(org_path="kuzbass/kemerovo"),
        offset=0,
        limit=10,
    )
    assert [e.actor_id for e in other.items] == ["admin-nvk-net-1"]
    with pytest.raises(Forbidden):
        auditing.audit_page(uow_factory(), region.network_admin, AuditFilter(), offset=0, limit=10)
    cancelled = auditing.audit_page(
        uow_factory(),
        region.rcc,
        AuditFilter(action=BOOKING_CANCELLED, since=NOW + timedelta(minutes=30)),
        offset=0,
        limit=10,
    )
    assert [e.object_id for e in cancelled.items] == [created.booking.id]


@pytest.mark.usefixtures("told")
def test_a_moved_lesson_is_told_to_each_school_in_its_own_local_time(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        uow.users.add(
            User("coord-insar-1", "coord-insar-1", "-", Role.LOCAL_COORDINATOR, "insar-school-1")
        )
        uow.commit()
    with_insar = across_networks(
        "Русский язык, 9 класс", Participant("insar-school-1", "term-insar-1", "class", "9Б")
    )
    created = create_booking(uow_factory(), region.network_admin, with_insar, now=NOW)
    [occurrence] = created.occurrences

    move_occurrence(uow_factory(), region.network_admin, occurrence.id, lesson_number=5, now=NOW)

    [(kind, title)] = inbox(uow_factory, "coord-insar-1")
    assert (kind, title) == (
        "booking.dates_changed",
        "Изменения в расписании: «Русский язык, 9 класс»",
    )
    with uow_factory() as uow:
        moved = uow.occurrences.get(occurrence.id)
        [insar] = uow.notifications.of_user("coord-insar-1")
        [host] = uow.notifications.of_user("coord-kem-20")
    assert moved is not None and moved.moved_from == occurrence.start
    msk, kem = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Novokuznetsk")
    assert insar.body_ru == (
        f"перенесён: {occurrence.start.astimezone(msk):%d.%m.%Y %H:%M} (UTC+3)"
        f" → {moved.start.astimezone(msk):%d.%m.%Y %H:%M} (UTC+3)"
    )
    assert host.body_ru == (
        f"перенесён: {occurrence.start.astimezone(kem):%d.%m.%Y %H:%M} (UTC+7)"
        f" → {moved.start.astimezone(kem):%d.%m.%Y %H:%M} (UTC+7)"
    )


def test_a_timetable_load_leaves_one_entry_with_its_counts(
    uow_factory: UowFactory, region: Region
) -> None:
    first = nvk_own_lesson()
    first.external_ref = "nvk-5-lit-8"
    first.owner_org_id = "nvk-net-1"

    upsert_timetable(uow_factory(), region.other_network_admin, [first], now=NOW)
    upsert_timetable(uow_factory(), region.other_network_admin, [first], now=NOW)  # unchanged

    [entry] = auditing.audit_page(
        uow_factory(), region.rcc, AuditFilter(action=TIMETABLE_LOADED), offset=0, limit=10
    ).items
    assert (entry.actor_id, entry.org_path) == ("admin-nvk-net-1", "kuzbass/novokuznetsk/nvk-net-1")
    assert entry.details == {"created": 1}
