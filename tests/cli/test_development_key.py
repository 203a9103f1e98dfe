"""Without `VKS_SECRET_KEY`, tokens are signed with a development key of proper length kept
in the data directory (0600), the same for every process on that directory; production
refuses to start without a key."""

from __future__ import annotations

import stat
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from booking.access import Principal, Role
from vks.auth.tokens import Tokens
from vks.settings import Settings

RCC = Principal("op-1", Role.RCC_OPERATOR, "rcc", "/kuzbass/rcc/")


@pytest.fixture(autouse=True)
def no_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VKS_SECRET_KEY", raising=False)
    monkeypatch.delenv("VKS_PRODUCTION", raising=False)


def test_without_a_secret_key_tokens_are_signed_without_an_insecure_key_warning(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyJWT's InsecureKeyLengthWarning would raise
        token = Tokens(settings.secret_key).issue(
            RCC, now=datetime(2026, 9, 1, tzinfo=UTC), ttl=timedelta(hours=1)
        )

    assert token
    assert len(bytes.fromhex(settings.secret_key)) >= 32


def test_the_development_key_is_kept_in_the_data_dir_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    first = Settings(data_dir=tmp_path).secret_key
    second = Settings(data_dir=tmp_path).secret_key
    elsewhere = Settings(data_dir=tmp_path / "another").secret_key

    kept = tmp_path / "secret.key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text().strip() == first == second
    assert elsewhere != first


def test_production_without_a_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="set VKS_SECRET_KEY in production"):
        Settings(data_dir=tmp_path, production=True)
    assert not (tmp_path / "secret.key").exists()
