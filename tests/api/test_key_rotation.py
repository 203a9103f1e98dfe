"""Rotating `VKS_SECRET_KEY` without logging everyone out: the new key signs every new
token; the replaced key, named in `VKS_SECRET_KEY_PREVIOUS`, still verifies the tokens it
signed until they expire or the operator removes it (docs/operations.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from booking.access import Principal, Role
from booking.errors import NotAuthenticated
from vks.auth.tokens import Tokens
from vks.settings import Settings

OLD_KEY = "rcc-kuzbass-key-of-2025-rotated-in-december"
NEW_KEY = "rcc-kuzbass-key-of-2026-after-the-rotation"
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 09:00 in Kemerovo
COORDINATOR = Principal(
    user_id="u-school12",
    role=Role.LOCAL_COORDINATOR,
    org_id="kem-school-12",
    org_path="kuzbass/kemerovo/kem-net-1/kem-school-12",
)


def test_a_token_signed_before_the_rotation_is_still_accepted_during_the_grace_period() -> None:
    before = Tokens(OLD_KEY).issue(COORDINATOR, now=NOW, ttl=timedelta(hours=12))
    rotated = Tokens(NEW_KEY, previous=(OLD_KEY,))

    claims = rotated.verify(before.value, now=NOW + timedelta(hours=1))

    assert claims.principal == COORDINATOR


def test_new_tokens_are_signed_with_the_new_key_only() -> None:
    rotated = Tokens(NEW_KEY, previous=(OLD_KEY,))

    after = rotated.issue(COORDINATOR, now=NOW, ttl=timedelta(hours=12))

    assert Tokens(NEW_KEY).verify(after.value, now=NOW).principal == COORDINATOR
    with pytest.raises(NotAuthenticated, match="signature"):
        Tokens(OLD_KEY).verify(after.value, now=NOW)


def test_once_the_previous_key_is_removed_its_tokens_are_refused() -> None:
    before = Tokens(OLD_KEY).issue(COORDINATOR, now=NOW, ttl=timedelta(hours=12))

    with pytest.raises(NotAuthenticated, match="signature is not valid"):
        Tokens(NEW_KEY).verify(before.value, now=NOW)


def test_a_token_of_a_key_never_used_here_is_refused_during_a_rotation_too() -> None:
    stranger = Tokens("a-key-nobody-at-the-rcc-has-ever-used-here")
    forged = stranger.issue(COORDINATOR, now=NOW, ttl=timedelta(hours=1))

    with pytest.raises(NotAuthenticated, match="signature is not valid"):
        Tokens(NEW_KEY, previous=(OLD_KEY,)).verify(forged.value, now=NOW)


def test_the_previous_keys_come_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, secret_key=NEW_KEY, secret_key_previous=f"{OLD_KEY}, other-old-key-9"
    )

    assert settings.previous_secret_keys == (OLD_KEY, "other-old-key-9")
    with pytest.raises(ValidationError, match="VKS_SECRET_KEY_PREVIOUS"):
        Settings(data_dir=tmp_path, secret_key=NEW_KEY, secret_key_previous="short")


def test_secrets_are_read_from_files_in_the_secrets_directory(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "vks_secret_key").write_text(NEW_KEY + "\n")
    (secrets / "vks_database_url").write_text("postgresql://vks:s3cret@db:5432/vks")

    settings = Settings(data_dir=tmp_path, _secrets_dir=secrets)  # type: ignore[call-arg]

    assert settings.secret_key == NEW_KEY
    assert settings.database_url == "postgresql://vks:s3cret@db:5432/vks"
