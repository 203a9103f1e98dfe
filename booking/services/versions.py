"""Optimistic concurrency: a change names the version it was based on (the ETag)."""

from __future__ import annotations

from booking.errors import VersionMismatch


def check_version(what: str, current: int, expected: int | None) -> None:
    """Refuse a change based on another version of `what` than the stored one (None: the
    caller did not say, e.g. an import that replaces whatever is there)."""
    if expected is not None and expected != current:
        raise VersionMismatch(
            f"{what} has changed (version {current}, you sent {expected}); reload and retry",
            current=current,
            expected=expected,
        )
