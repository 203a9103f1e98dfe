"""A route's answer as JSON, serialised once.

For a returned model FastAPI dumps it, validates the dump again against the route's
`response_model` and serialises that (in the thread pool, for a sync endpoint). The hot
routes build their model themselves and answer it with `answer`: the same JSON, written
once by pydantic-core; the route keeps its `response_model` for the OpenAPI document."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def answer(content: BaseModel, status: int = 200) -> Response:
    """`content` as the JSON body FastAPI would send for it."""
    return Response(content.__pydantic_serializer__.to_json(content), status,
                    media_type="application/json")  # fmt: skip
