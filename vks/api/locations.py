"""The `Location` of a resource a POST created: `/api/v1/<collection>/<id>` with the id
percent-encoded (UTF-8), so any id — Cyrillic ones are natural here — makes a valid
header. Every route that creates something sets its `Location` here, and this cannot fail:
a 201's header is built after the service committed, and an error there would turn a
saved row into a 500."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

PREFIX = "/api/v1"


def location(collection: str, resource_id: str) -> str:
    """`/api/v1/<collection>/<resource_id>`, the id percent-encoded (also `/`, `?`, `#`)."""
    return f"{PREFIX}/{collection}/{quote(resource_id, safe='', errors='surrogatepass')}"


def set_location(response: Response, collection: str, resource_id: str) -> None:
    response.headers["Location"] = location(collection, resource_id)
