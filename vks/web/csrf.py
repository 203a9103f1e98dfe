"""Cross-site request forgery: every form and every htmx POST carries a token that only
our own pages can know — an HMAC (the service's secret key) of a random value kept in an
HttpOnly cookie (`vks_csrf`, SameSite=Lax). A POST without it, or with another, is refused
with a 403 page. The login form has it too (no login forced into another's account)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from vks.web.session import container_of, secure

CSRF_COOKIE = "vks_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """A state-changing request without the page's token."""


def _seed(request: Request) -> str:
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_seed", None)
    if not seed:
        seed = secrets.token_urlsafe(32)
        request.state.csrf_seed = seed
        request.state.csrf_new = True
    return seed


def _sign(request: Request, seed: str) -> str:
    key = container_of(request).settings.secret_key.encode()
    return hmac.new(key, b"csrf|" + seed.encode(), hashlib.sha256).hexdigest()


def token_for(request: Request) -> str:
    """The token a page's forms carry (a new cookie is set with the page if needed)."""
    return _sign(request, _seed(request))


def keep_cookie(request: Request, response: Response) -> None:
    """Set the seed cookie on a page that made one."""
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_seed,
            httponly=True,
            samesite="lax",
            secure=secure(request),
            path="/",
        )


async def require_csrf(request: Request) -> None:
    """A dependency of every POST page route: the form field or header must match."""
    seed = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not seed or not sent or not hmac.compare_digest(sent, _sign(request, seed)):
        raise CsrfRefused()
