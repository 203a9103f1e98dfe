"""Users of the service. Passwords are hashed outside the domain (`vks/auth`, argon2);
the domain only keeps the hash and never sees a clear password."""

from __future__ import annotations

from dataclasses import dataclass

from booking.access import Role


@dataclass
class User:
    id: str
    username: str
    password_hash: str
    role: Role
    org_id: str  # the root of the organisation subtree the user acts in
    active: bool = True
    full_name: str = ""
    version: int = 1
    email: str | None = None  # where e-mail notifications go (none: inbox only)
