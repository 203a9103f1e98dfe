"""Domain exceptions. Entry points map them to responses in one place
(`vks/api/problems.py` for HTTP, `vks/cli.py` for the command line)."""

from __future__ import annotations

from typing import Any

from booking.words import Words


class DomainError(Exception):
    """Base of every error the domain raises on purpose. `code` is stable and machine-readable.
    The message is English (the API's `detail`); given as `Words`, pages say it in the
    reader's language (`words`)."""

    code = "domain_error"

    def __init__(self, message: str | Words, **details: Any) -> None:
        self.words = message if isinstance(message, Words) else None
        text = message.text() if isinstance(message, Words) else message
        super().__init__(text)
        self.message = text
        self.details = details


class ReferenceChanged(Exception):
    """Not an error anyone sees: a plan made on this process's copies of the reference
    data as last seen (`UnitOfWork.plan_on_kept_copies`) turned out to rest on a copy that
    changed meanwhile, found when the rules' reads came back with the change counters.
    The service plans again in the same transaction, on current copies."""


# --- input and lookup -------------------------------------------------------------
class InvalidInput(DomainError):
    """The request itself is wrong: end before start, naive datetime, unknown lesson number…"""

    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with existing state (double booking, capacity, stale version)."""

    code = "conflict"


class BookingConflict(Conflict):
    """Carries every conflicting occurrence and the proposed alternatives in `details`."""

    code = "booking_conflict"


class VersionMismatch(Conflict):
    """If-Match did not match the current ETag."""

    code = "version_mismatch"


class ImmutablePast(Conflict):
    code = "immutable_past"


class ResourceInactive(Conflict):
    code = "resource_inactive"


class HoldExpired(Conflict):
    """A tentative hold was not confirmed in time; its slots have been released."""

    code = "hold_expired"


# --- authorisation ------------------------------------------------------------------
class NotAuthenticated(DomainError):
    code = "not_authenticated"


class Forbidden(DomainError):
    code = "forbidden"


class TooManyAttempts(DomainError):
    """Too many failed attempts (logging in): `retry_after` seconds in `details`."""

    code = "too_many_attempts"


# --- devices and servers (expected events, never tracebacks) ----------------------------
class DeviceError(DomainError):
    """A device or server failed. `device` names it in `details` where known."""

    code = "device_error"


class DeviceUnreachable(DeviceError):
    """Connection refused, reset, DNS failure or timeout."""

    code = "device_unreachable"


class DeviceAuthFailed(DeviceError):
    code = "device_auth_failed"


class DeviceBusy(DeviceError):
    """The device refuses because of its state (terminal already in a call, rebooting)."""

    code = "device_busy"


class DeviceProtocolError(DeviceError):
    """The device answered, but with an error or something we cannot parse."""

    code = "device_protocol_error"


class ServiceUnavailable(DomainError):
    """Something the operation needs (the job queue's Redis…) is down: retry later."""

    code = "service_unavailable"


class ServerAtCapacity(DeviceError):
    code = "server_at_capacity"


class NoServerAvailable(DeviceError):
    code = "no_server_available"


class IllegalTransition(Conflict):
    """A workflow object (a school or combined request) cannot make this move from its state."""

    code = "illegal_transition"
