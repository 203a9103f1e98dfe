"""Logging in, tokens, users."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from booking.access import Role


class LoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "net20", "password": "demo-password"}]},
    )

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    role: Role
    org_id: str


class FeedTokenOut(BaseModel):
    """A read-only token for calendar clients, and the feed URLs that carry it."""

    token: str
    jti: str  # to revoke it: DELETE /api/v1/auth/feed-tokens/{jti}
    expires_at: dt.datetime
    feed: str = Field(
        description="the feed of the caller's organisation: a school's lessons, or every "
        "lesson of a network's, a municipality's or the region's schools"
    )
    school_feed: str | None = Field(default=None, description="deprecated: use `feed`")
    example_terminal_feed: str | None = None


class FeedTokenIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Outlook, кабинет 12"}]}
    )

    name: str = Field(default="", max_length=128, description="to tell the tokens apart")


class IssuedTokenOut(BaseModel):
    """A recorded feed (or service-account) token — never the token itself."""

    model_config = ConfigDict(from_attributes=True)

    jti: str
    user_id: str
    scope: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class MeOut(BaseModel):
    user_id: str
    role: Role
    org_id: str
    org_path: str
    scope: str
    expires_at: dt.datetime


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "net20",
                    "password": "a long passphrase",
                    "role": "network_admin",
                    "org_id": "kem-net-20",
                    "full_name": "Соколова Елена Викторовна",
                }
            ]
        },
    )

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    org_id: str
    full_name: str = ""
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    role: Role
    org_id: str
    active: bool
    full_name: str
    version: int
    email: str | None = None


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool
