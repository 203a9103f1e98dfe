"""Jitsi JWTs: the claims prosody's token authentication and the moderation plugins read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from adapters.conference.jitsi import JitsiOptions, JitsiPlatform
from adapters.conference.jitsi_token import TokenIssuer
from adapters.conference.platform import LinkRole, Room, RoomSpec
from booking.resources import ConferenceServer, PlatformKind

SECRET = "jitsi-app-secret-kuzbass-2026-rcc-kemerovo"
LESSON_START = datetime(2026, 10, 6, 3, 0, tzinfo=UTC)  # 10:00 in Novokuznetsk (UTC+7)


def _spec() -> RoomSpec:
    return RoomSpec(
        occurrence_id="occ-2026-10-06-phys-9a",
        booking_id="bk-phys-9a",
        title="Физика, 9 «А»",
        starts_at=LESSON_START,
        ends_at=LESSON_START + timedelta(minutes=40),
        setup_starts_at=LESSON_START - timedelta(minutes=15),
        school_ids=("kem-school-20", "kem-school-41"),
        expected_participants=30,
        terminals=2,
    )


@pytest.fixture
async def platform() -> JitsiPlatform:
    server = ConferenceServer(
        id="jitsi-1",
        kind=PlatformKind.JITSI,
        name="Jitsi РКЦ",
        base_url="https://meet.kuzbass.example.ru",
        secret_ref="inline:" + SECRET,
        max_rooms=50,
        max_participants=500,
    )
    options = JitsiOptions(app_id="vks-kuzbass", audience="jitsi", domain="meet.kuzbass.example.ru")
    return JitsiPlatform(server, SECRET, httpx.AsyncClient(), options=options)


def _room(platform: JitsiPlatform) -> Room:
    spec = _spec()
    return Room(
        spec.occurrence_id,
        "jitsi-1",
        PlatformKind.JITSI,
        platform.room_id_for(spec.occurrence_id),
        "",
        spec.opens_at,
        spec.ends_at,
    )


def _decode(token: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        issuer="vks-kuzbass",
        options={"verify_exp": False, "verify_nbf": False},
    )


async def test_teacher_token_carries_identity_room_and_both_moderator_claims(
    platform: JitsiPlatform,
) -> None:
    room = _room(platform)

    claims = _decode(
        platform.token(
            room,
            LinkRole.MODERATOR,
            "Иванова Мария Петровна",
            "u-teacher-17",
            "ivanova@school20.kuzbass.ru",
        )
    )

    assert claims["iss"] == "vks-kuzbass"
    assert claims["aud"] == "jitsi"
    assert claims["sub"] == "meet.kuzbass.example.ru"
    assert claims["room"] == room.room_id
    assert claims["moderator"] is True
    assert claims["context"]["user"] == {
        "id": "u-teacher-17",
        "name": "Иванова Мария Петровна",
        "email": "ivanova@school20.kuzbass.ru",
        "moderator": "true",
        "affiliation": "owner",
    }


async def test_pupil_token_is_a_plain_member_with_string_only_user_context(
    platform: JitsiPlatform,
) -> None:
    claims = _decode(
        platform.token(_room(platform), LinkRole.ATTENDEE, "9 «А», МБОУ «СОШ №41»", "41")
    )

    user = claims["context"]["user"]
    assert claims["moderator"] is False
    assert user["affiliation"] == "member"
    assert user["moderator"] == "false"
    assert all(isinstance(v, str) for v in user.values())  # prosody throws on null/numbers


async def test_validity_is_bound_to_the_set_up_buffer_and_the_allowed_overrun(
    platform: JitsiPlatform,
) -> None:
    claims = _decode(platform.token(_room(platform), LinkRole.ATTENDEE, "Гость", "g-1"))

    setup = LESSON_START - timedelta(minutes=15)
    end = LESSON_START + timedelta(minutes=40)
    assert claims["nbf"] == int((setup - timedelta(minutes=5)).timestamp())
    assert claims["exp"] == int((end + timedelta(minutes=30)).timestamp())


async def test_token_is_signed_hs256_with_the_app_secret(platform: JitsiPlatform) -> None:
    token = platform.token(_room(platform), LinkRole.ATTENDEE, "Гость", "g-1")

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            "another-secret-of-32-bytes-or-more!",
            algorithms=["HS256"],
            options={"verify_aud": False},
        )


async def test_join_link_opens_the_room_with_the_token(platform: JitsiPlatform) -> None:
    room = _room(platform)

    link = platform.join_link(room, LinkRole.ATTENDEE, "МБОУ «СОШ №20»", "kem-school-20")

    prefix = f"https://meet.kuzbass.example.ru/{room.room_id}?jwt="
    assert link.startswith(prefix)
    assert _decode(link[len(prefix) :])["context"]["user"]["id"] == "kem-school-20"


def test_issuer_builds_claims_without_a_platform() -> None:
    issuer = TokenIssuer("vks", SECRET, audience="*", domain="meet.jitsi")

    claims = issuer.claims(
        "vksroom",
        not_before=LESSON_START,
        expires=LESSON_START + timedelta(hours=1),
        user_id="7",
        name="Тьютор",
    )

    assert claims["exp"] - claims["nbf"] == 3600
    assert claims["context"]["user"]["email"] == ""
