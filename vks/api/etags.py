"""Optimistic concurrency over HTTP: every versioned resource answers `ETag: "v<version>"`;
updates take `If-Match` with that tag (412 if it no longer matches, 428 if a replacement
comes without one). `*` means "whatever the current version"."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response

from vks.api.dependencies import container_of
from vks.api.problems import ApiProblem

IF_MATCH_HELP = 'the ETag from the last GET, e.g. "v3" (`*`: any version)'


def etag(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def parse_if_match(value: str) -> int | None:
    """The version an If-Match names; None for `*`. Anything else is 412."""
    text = value.strip()
    if text == "*":
        return None
    if "," in text:
        raise ApiProblem(
            412, "precondition_failed", "Precondition failed", "give exactly one ETag in If-Match"
        )
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if text.startswith("v") and text[1:].isdigit():
        return int(text[1:])
    raise ApiProblem(
        412,
        "precondition_failed",
        "Precondition failed",
        f"If-Match {value!r} is not an ETag of this resource",
    )


def if_match_required(
    request: Request,
    if_match: Annotated[str | None, Header(alias="If-Match", description=IF_MATCH_HELP)] = None,
) -> int | None:
    """For replacements (PUT): 428 without If-Match (unless the settings relax it)."""
    if if_match is None:
        if container_of(request).settings.require_if_match:
            raise ApiProblem(
                428,
                "precondition_required",
                "Precondition required",
                "send If-Match with the ETag of the version you edited (GET it first)",
            )
        return None
    return parse_if_match(if_match)


def if_match_optional(
    if_match: Annotated[str | None, Header(alias="If-Match", description=IF_MATCH_HELP)] = None,
) -> int | None:
    """For actions (cancel, confirm, move…): checked when sent."""
    return None if if_match is None else parse_if_match(if_match)


IfMatch = Annotated[int | None, Depends(if_match_required)]
IfMatchOptional = Annotated[int | None, Depends(if_match_optional)]
