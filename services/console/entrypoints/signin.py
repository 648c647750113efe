"""Sign-in: OpenID Connect (authorization code flow with PKCE, through Authlib) against the
organisation's issuer, or, in the embedded mode only, a development sign-in that mints a token with the
stack's development key. Either way the session keeps the bearer token that is forwarded to the services."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.entrypoints.security import checked_form, csrf_token
from services.console.settings import ConsoleSettings
from shared.auth import ADMIN, PARTICIPANT, TokenVerifier

log = structlog.get_logger()
DEV_TTL = timedelta(hours=8)


def oidc_client(settings: ConsoleSettings, transport: Any = None) -> Any:
    """Authlib's Starlette client for the configured issuer (its metadata is fetched on first use); PKCE
    with S256 on every sign-in. `transport` (an httpx transport) is for tests."""
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    oauth.register(
        name="oidc", server_metadata_url=settings.console_oidc_metadata_url,
        client_id=settings.console_oidc_client_id, client_secret=settings.console_oidc_client_secret or None,
        client_kwargs={"scope": settings.console_oidc_scope, "code_challenge_method": "S256",
                       **({"transport": transport} if transport is not None else {})},
    )
    return oauth.create_client("oidc")


def home_of(principal: Any) -> str:
    return "/programs" if principal.is_admin else "/me"


def routes(settings: ConsoleSettings, verifier: TokenVerifier, render: Any, oidc_transport: Any = None) -> APIRouter:
    api = APIRouter()
    client = oidc_client(settings, oidc_transport) if settings.oidc_enabled else None

    def start_session(request: Request, token: str) -> RedirectResponse:
        principal = verifier.principal(token)  # 401 for a token the services would not accept
        request.session.clear()
        request.session["token"] = token
        csrf_token(request)
        log.info("console.signed_in", roles=sorted(principal.roles))
        return RedirectResponse(home_of(principal), status_code=303)

    @api.get("/signin", response_class=HTMLResponse)
    async def signin(request: Request) -> Response:
        return render(request, "signin.html", oidc=client is not None, dev=settings.console_dev_signin,
                      roles=(ADMIN, PARTICIPANT), title="Sign in")

    @api.get("/signin/oidc")
    async def signin_oidc(request: Request) -> Response:
        if client is None:
            raise HTTPException(status_code=404, detail="OpenID Connect sign-in is not configured")
        return await client.authorize_redirect(request, str(request.url_for("oidc_callback")))

    @api.get("/signin/callback", name="oidc_callback")
    async def callback(request: Request) -> Response:
        if client is None:
            raise HTTPException(status_code=404, detail="OpenID Connect sign-in is not configured")
        try:
            answer = await client.authorize_access_token(request)
        except Exception as exc:  # authlib's OAuthError, a state mismatch, an unreachable issuer
            log.info("console.oidc_refused", error=type(exc).__name__)
            raise HTTPException(status_code=401, detail="the sign-in did not complete: try again") from None
        token = answer.get(settings.console_oidc_token)
        if not token:
            raise HTTPException(status_code=401, detail=f"the issuer sent no {settings.console_oidc_token}")
        return start_session(request, token)

    @api.post("/signin/dev")
    async def signin_dev(request: Request) -> Response:
        if not settings.console_dev_signin:
            raise HTTPException(status_code=404, detail="the development sign-in is off")
        form = await checked_form(request)
        from reciprocal.tokens import DevSigningKey

        org, role, person = (str(form.get(k) or "").strip() for k in ("org", "role", "person"))
        if not org or role not in (ADMIN, PARTICIPANT) or (role == PARTICIPANT and not person):
            return render(request, "signin.html", oidc=client is not None, dev=True, roles=(ADMIN, PARTICIPANT),
                          problem="Give an organisation, a role and, for a participant, a person id.",
                          title="Sign in", status_code=400)
        key = DevSigningKey(Path(settings.console_dev_signing_key))
        return start_session(request, key.mint(org, role, person or None, DEV_TTL))

    @api.post("/signout")
    async def signout(request: Request) -> Response:
        await checked_form(request)
        request.session.clear()
        return RedirectResponse("/signin", status_code=303)

    return api
