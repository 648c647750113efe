"""Sessions, CSRF and response headers: a signed, HttpOnly, SameSite=Lax session cookie (Secure unless
turned off for plain-http localhost development), a CSRF token checked on every form, and a strict
Content-Security-Policy (scripts only from this origin, no inline scripts or styles)."""

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException, Request, Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSRF_FIELD = "csrf_token"
FORM_MAX_BYTES = 16_384


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form, the first value of each field (the console's forms post nothing else)."""
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise HTTPException(status_code=413, detail="the form is too large")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


async def checked_form(request: Request) -> dict[str, str]:
    form = await read_form(request)
    check_csrf(request, form)
    return form


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
    else:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, form: Any) -> None:
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD) if form is not None else None
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise HTTPException(status_code=403, detail="the form has expired or did not come from this console: "
                            "reload the page and try again")
