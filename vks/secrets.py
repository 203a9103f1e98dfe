"""Credential references: where a device password or a server secret really lives.

The database never holds a secret in clear; it holds a reference:

- `env:NAME`     the value of the environment variable NAME (production);
- `inline:VALUE` VALUE itself (demo and test data only);
- anything else is taken as written (a legacy clear value).

`resolve` is called when a device is contacted (`for_device` when a missing secret is that
device's credentials failing; `unresolved` says why a reference cannot be resolved, for the
device to be left out rather than the service to stop); `to_ref` turns what a region file
says (`password: secret` or `password: env:NAME`) into a reference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from booking.errors import DeviceAuthFailed

ENV = "env:"
INLINE = "inline:"


class SecretMissing(LookupError):
    """An `env:` reference names an environment variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set")
        self.name = name

    @property
    def reason(self) -> str:
        """Why the device holding this reference is unusable, as operators read it."""
        return f"secret {self.name} not set"


def resolve(ref: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret a reference points to. A missing environment variable raises
    SecretMissing (never an empty password silently)."""
    env = os.environ if environ is None else environ
    if ref.startswith(ENV):
        name = ref[len(ENV) :]
        if name not in env:
            raise SecretMissing(name)
        return env[name]
    if ref.startswith(INLINE):
        return ref[len(INLINE) :]
    return ref


def for_device(ref: str, device: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret of a device's credentials; a missing environment variable is that
    device's credentials failing (`DeviceAuthFailed`), not a crash."""
    try:
        return resolve(ref, environ)
    except SecretMissing as exc:
        raise DeviceAuthFailed(
            f"{device}: credentials not configured ({exc.reason})", device=device
        ) from exc


def unresolved(ref: str, environ: Mapping[str, str] | None = None) -> str:
    """Why a reference cannot be resolved ("secret VKS_BBB1_SECRET not set"), "" if it can.
    A device whose reference is unresolved is unusable until the variable is set and the
    service restarted; the service itself keeps running."""
    try:
        resolve(ref, environ)
    except SecretMissing as missing:
        return missing.reason
    return ""


def to_ref(value: str) -> str:
    """A region file's credential (`env:NAME`, `inline:x` or a clear value) as a reference."""
    if value.startswith((ENV, INLINE)):
        return value
    return f"{INLINE}{value}"


def is_reference(value: str) -> bool:
    return value.startswith((ENV, INLINE))
