"""The rule of `booking/services/sessions.py`: a token is honoured only while its user is
active with the token's role and organisation, and a long-lived token (feed, service
account) only while its record is there and not revoked; who lists and revokes records."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from booking.access import Principal, Role
from booking.bookings import Participant, SessionKind
from booking.errors import Forbidden, NotAuthenticated, NotFound
from booking.services import sessions
from booking.services.bookings import BookingRequest, create_booking
from booking.tokens import IssuedToken
from booking.users import User
from tests.booking.conftest import UowFactory
from tests.booking.kuzbass import BEFORE_YEAR, Region

NOW = BEFORE_YEAR
TIMETABLE = Principal("svc:расписание", Role.SCHEDULER, "kem-net-1", "kuzbass/kemerovo/kem-net-1")


def as_user(principal: Principal) -> User:
    return User(
        id=principal.user_id,
        username=principal.user_id,
        password_hash="argon2-hash",
        role=principal.role,
        org_id=principal.org_id,
        full_name="Морозова Анна Сергеевна",
    )


def record(uow_factory: UowFactory, principal: Principal, jti: str, scope: str) -> IssuedToken:
    token = IssuedToken(
        id=jti,
        user_id=principal.user_id,
        scope=scope,
        name="Outlook",
        created_at=NOW,
        expires_at=NOW + timedelta(days=365),
    )
    return sessions.record_token(uow_factory(), token)


def check(
    uow_factory: UowFactory, principal: Principal, jti: str = "j-1", scope: str = "api"
) -> None:
    sessions.check_session(uow_factory(), principal, scope=scope, jti=jti, now=NOW)


@pytest.fixture
def coordinator(uow_factory: UowFactory, region: Region) -> Principal:
    """The coordinator of СОШ №12, a stored active user."""
    with uow_factory() as uow:
        uow.users.add(as_user(region.local_coordinator))
        uow.commit()
    return region.local_coordinator


def test_an_active_users_login_token_is_honoured(
    uow_factory: UowFactory, coordinator: Principal
) -> None:
    check(uow_factory, coordinator)  # no error


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"active": False}, "deactivated"),
        ({"role": Role.VIEWER}, "another role"),
        ({"org_id": "kem-school-20"}, "organisation"),
    ],
)
def test_a_changed_users_tokens_are_refused(
    uow_factory: UowFactory, coordinator: Principal, change: dict[str, object], reason: str
) -> None:
    with uow_factory() as uow:
        user = uow.users.get(coordinator.user_id)
        assert user is not None
        for name, value in change.items():
            setattr(user, name, value)
        user.version += 1
        uow.users.update(user)
        uow.commit()

    with pytest.raises(NotAuthenticated, match=reason):
        check(uow_factory, coordinator)


def test_a_token_of_a_user_who_does_not_exist_is_refused(
    uow_factory: UowFactory, region: Region
) -> None:
    with pytest.raises(NotAuthenticated, match="no longer exists"):
        check(uow_factory, region.network_admin)


def test_a_feed_token_needs_its_record_and_is_refused_once_revoked(
    uow_factory: UowFactory, coordinator: Principal
) -> None:
    with pytest.raises(NotAuthenticated, match="not \\(or no longer\\) known"):
        check(uow_factory, coordinator, "j-feed", "feed")
    record(uow_factory, coordinator, "j-feed", "feed")
    check(uow_factory, coordinator, "j-feed", "feed")

    revoked = sessions.revoke_token(uow_factory(), coordinator, "j-feed", NOW)

    assert revoked.revoked_at == NOW
    with pytest.raises(NotAuthenticated, match="revoked"):
        check(uow_factory, coordinator, "j-feed", "feed")


def test_a_service_account_needs_no_user_but_a_record(
    uow_factory: UowFactory, region: Region
) -> None:
    with pytest.raises(NotAuthenticated, match="known"):
        check(uow_factory, TIMETABLE, "j-svc")
    record(uow_factory, TIMETABLE, "j-svc", "api")

    check(uow_factory, TIMETABLE, "j-svc")


def test_a_record_of_someone_else_does_not_make_a_token_honoured(
    uow_factory: UowFactory, coordinator: Principal, region: Region
) -> None:
    record(uow_factory, TIMETABLE, "j-svc", "api")

    with pytest.raises(NotAuthenticated, match="known"):
        check(uow_factory, coordinator, "j-svc", "feed")


def test_only_the_rcc_lists_and_revokes_other_holders_tokens(
    uow_factory: UowFactory, coordinator: Principal, region: Region
) -> None:
    record(uow_factory, coordinator, "j-feed", "feed")

    with pytest.raises(Forbidden):
        sessions.list_tokens(uow_factory(), region.network_admin, coordinator.user_id)
    with pytest.raises(NotFound):
        sessions.revoke_token(uow_factory(), region.network_admin, "j-feed", NOW)
    listed = sessions.list_tokens(uow_factory(), region.rcc, coordinator.user_id)
    first = sessions.revoke_token(uow_factory(), region.rcc, "j-feed", NOW)
    again = sessions.revoke_token(uow_factory(), region.rcc, "j-feed", NOW + timedelta(hours=1))

    assert [t.id for t in listed] == ["j-feed"]
    assert first.revoked_at == again.revoked_at == NOW  # revoking twice changes nothing
    assert sessions.list_tokens(uow_factory(), coordinator)[0].revoked_at == NOW


def test_records_of_tokens_long_ended_are_forgotten_and_the_others_kept(
    uow_factory: UowFactory, coordinator: Principal
) -> None:
    kept = timedelta(days=90)
    expired_long_ago = IssuedToken(
        id="j-old", user_id=coordinator.user_id, scope="feed", name="Старый телефон",
        created_at=NOW - timedelta(days=500), expires_at=NOW - timedelta(days=135),
    )  # fmt: skip
    sessions.record_token(uow_factory(), expired_long_ago)
    record(uow_factory, coordinator, "j-revoked", "feed")
    sessions.revoke_token(uow_factory(), coordinator, "j-revoked", NOW)
    record(uow_factory, coordinator, "j-live", "feed")

    gone_now = sessions.forget_ended_tokens(uow_factory(), NOW, kept)
    gone_later = sessions.forget_ended_tokens(uow_factory(), NOW + timedelta(days=91), kept)

    assert (gone_now, gone_later) == (1, 1)  # the revoked record stays its 90 days
    assert [t.id for t in sessions.list_tokens(uow_factory(), coordinator)] == ["j-live"]
    check(uow_factory, coordinator, "j-live", "feed")


# --- a request's work checking its session in its own transaction (issue 19) --------------
def lesson_at_school_12() -> BookingRequest:
    return BookingRequest(
        title="Открытый урок, 7 класс",
        kind=SessionKind.FULL_BROADCAST,
        host_school_id="kem-school-12",
        teacher="Морозова Анна Сергеевна",
        participants=[Participant("kem-school-12", "term-kem-12", "teacher", "7Б")],
        on_date=date(2026, 9, 15),
        lesson_number=3,
    )


def bookings_of_school_12(uow_factory: UowFactory) -> list[str]:
    with uow_factory() as uow:
        return [b.id for b in uow.bookings.list() if b.host_school_id == "kem-school-12"]


def test_a_session_checked_create_of_an_honoured_caller_is_written(
    uow_factory: UowFactory, coordinator: Principal
) -> None:
    checked = sessions.session_checked(uow_factory(), coordinator, scope="api", jti="j-1", now=NOW)

    result = create_booking(checked, coordinator, lesson_at_school_12(), now=NOW)

    assert result.written
    assert bookings_of_school_12(uow_factory) == [result.booking.id]


def test_a_session_checked_create_of_a_deactivated_caller_is_refused_and_writes_nothing(
    uow_factory: UowFactory, coordinator: Principal
) -> None:
    checked = sessions.session_checked(uow_factory(), coordinator, scope="api", jti="j-1", now=NOW)
    with uow_factory() as uow:
        user = uow.users.get(coordinator.user_id)
        assert user is not None
        user.active, user.version = False, user.version + 1
        uow.users.update(user)
        uow.commit()

    with pytest.raises(NotAuthenticated, match="deactivated"):
        create_booking(checked, coordinator, lesson_at_school_12(), now=NOW)

    assert bookings_of_school_12(uow_factory) == []


def test_a_session_checked_create_with_a_revoked_service_token_is_refused(
    uow_factory: UowFactory, region: Region
) -> None:
    record(uow_factory, TIMETABLE, "j-svc", "api")
    sessions.revoke_token(uow_factory(), region.rcc, "j-svc", NOW)
    checked = sessions.session_checked(uow_factory(), TIMETABLE, scope="api", jti="j-svc", now=NOW)

    with pytest.raises(NotAuthenticated, match="revoked"):
        create_booking(checked, TIMETABLE, lesson_at_school_12(), now=NOW)

    assert bookings_of_school_12(uow_factory) == []
