"""The language switch (Russian, English): a cookie, then back to the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse

from vks.web import i18n
from vks.web.csrf import require_csrf
from vks.web.pages.login import safe_next
from vks.web.rendering import LANG_COOKIE

router = APIRouter(dependencies=[Depends(require_csrf)])


@router.post("/language")
def choose_language(
    lang: Annotated[str, Form(max_length=8)], next: Annotated[str, Form(max_length=2000)] = "/"
) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE, i18n.chosen(lang), max_age=365 * 24 * 3600, samesite="lax", path="/"
    )
    return response
