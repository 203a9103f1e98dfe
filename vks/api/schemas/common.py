"""Shapes every area shares: pages of a list, and the problem document."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Links(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self", description="this page")
    next: str | None = Field(default=None, description="the next page, if any")
    prev: str | None = Field(default=None, description="the previous page, if any")


class Page(BaseModel, Generic[T]):
    """One page of a list: `offset`/`limit` in, `total` and navigation links out."""

    items: list[T]
    total: int = Field(description="how many items the whole list holds")
    offset: int
    limit: int
    links: Links


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:vks:problem:forbidden",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "МБОУ «СОШ №12» is outside the scope of this network_admin"
                    " (nvk-net-5)",
                    "instance": "/api/v1/bookings",
                    "code": "forbidden",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route may answer."""
    described = {
        401: "missing, invalid or expired token",
        403: "the caller's role or scope does not allow this",
        404: "an id is unknown",
        409: "conflicts with the current state (double booking: conflicts and alternatives)",
        412: "If-Match does not match the current ETag",
        422: "the request is not valid (with the reason)",
        428: "If-Match is required",
    }
    return {
        status: {
            "model": Problem,
            "description": described.get(status, "problem"),
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }
