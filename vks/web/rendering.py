"""Rendering a page: one Jinja2 environment per language (autoescaped, gettext installed
from `vks.web.i18n`), and what every template gets — the viewer, the language, the CSRF
token, formatting in the viewer's locale and zone, and the navigation of their role."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from vks.web import csrf, dates, i18n
from vks.web.formats import Formats
from vks.web.navigation import admin_entries_for, entries_for
from vks.web.session import Viewer, container_of

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "vks_lang"


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the code: no stat() per include
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = quick_gettext(i18n.translations(language))
    env.filters["said"] = lambda thing: i18n.said(thing, language)
    env.filters["reason"] = lambda text: i18n.reason(text, language)
    env.filters["cause"] = lambda code: i18n.cause(code, language)
    return env


def quick_gettext(catalogue: NullTranslations) -> Callable[..., str]:
    """The templates' `_`: Jinja's newstyle gettext (the translation made markup when the
    template escapes, then always %-formatted with the keywords, which are escaped) without
    its two context calls per text, and a text without keywords translated once — a board
    of 70 lessons asks for ~700 texts (6 µs each through Jinja's own)."""
    plain: dict[str, str] = {}

    @pass_context
    def translate(context: Context, string: str, **variables: Any) -> str:
        if not context.eval_ctx.autoescape:
            return catalogue.gettext(string) % variables
        if variables:
            return Markup(catalogue.gettext(string)) % variables
        found = plain.get(string)
        if found is None:
            found = plain[string] = Markup(catalogue.gettext(string)) % {}
        return found

    return translate


@cache
def babel_locale(name: str) -> Locale:
    return Locale.parse(name)


def language_of(request: Request) -> str:
    return i18n.chosen(request.cookies.get(LANG_COOKIE))


def gettext_for(request: Request) -> Any:
    """`_` for texts made in Python (flash messages) in the request's language."""
    return i18n.translations(language_of(request)).gettext


def formats_for(request: Request) -> Formats:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    zone = viewer.zone if viewer else ZoneInfo(container_of(request).settings.monitor_time_zone)
    return Formats(babel_locale(i18n.BABEL_LOCALES[language_of(request)]), zone)


def unread_of(request: Request) -> int:
    """The viewer's unread notifications (the badge of the navigation's inbox entry)."""
    from booking.services import notifying

    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        return 0
    return notifying.unread_count(container_of(request).reading_uow(), viewer.principal)


def context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return {
        "unread_count": lambda: unread_of(request),  # asked only by the navigation bar
        "request": request,
        "viewer": viewer,
        "nav": entries_for(viewer.principal) if viewer else [],
        "admin_links": admin_entries_for(viewer.principal) if viewer else [],
        "lang": language_of(request),
        "languages": i18n.LANGUAGES,
        "csrf_token": csrf.token_for(request),
        "csrf_field": csrf.FIELD,
        "fmt": formats_for(request),
        "written": lambda day: dates.written(day, language_of(request)),
        "date_field": {
            "pattern": dates.PATTERN,
            "placeholder": dates.placeholder(language_of(request)),
        },
        "path": request.url.path,
        **values,
    }


def render_text(request: Request, template_name: str, **values: Any) -> str:
    """A template (a page or a fragment) as text."""
    template = environment(language_of(request)).get_template(template_name)
    return template.render(context(request, values))


def render(
    request: Request, template_name: str, *, status: int = 200, **values: Any
) -> HTMLResponse:
    response = HTMLResponse(render_text(request, template_name, **values), status_code=status)
    csrf.keep_cookie(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response
