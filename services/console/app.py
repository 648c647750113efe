"""Composition root of the web console: a backend-for-frontend for program admins and participants.

It owns no database: every page is built from the owning services' HTTP APIs, called with the
signed-in person's bearer token, and every action calls an owning service's API or publishes a
contract event. Run it with `reciprocal console` (configured from RECIPROCAL_* variables)."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from services.console.adapters.publisher import Publisher
from services.console.adapters.services import ServiceRefused, Services
from services.console.domain.admin import percent
from services.console.entrypoints import pages, signin
from services.console.entrypoints.security import CSRF_FIELD, csrf_token, security_headers
from services.console.settings import ConsoleSettings
from shared.auth import TokenVerifier, auth_settings
from shared.clock import configured_clock, use_service_clock
from shared.logging import configure_logging

HERE = Path(__file__).parent
SESSION_COOKIE = "reciprocal_console"
log = structlog.get_logger()


class NotSignedIn(Exception):
    pass


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = percent
    return env


def create_app(settings: ConsoleSettings | None = None, *, services: Services | None = None,
               publisher: Publisher | None = None, oidc_transport: Any = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    configure_logging("console", settings.log_level)
    verifier = TokenVerifier(auth_settings())
    services = services or Services(settings.service_urls(), settings.console_http_timeout_s)
    publisher = publisher or Publisher(settings.kafka_bootstrap)
    env = templates()
    clock = configured_clock(settings.clock_speed, settings.clock_epoch, embedded=settings.embedded)
    use_service_clock(clock)  # the events the console publishes are stamped on the stack's clock

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("console.started")
        try:
            yield
        finally:
            await services.close()
            await publisher.close()

    app = FastAPI(title="Reciprocal console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.middleware("http")(security_headers)
    app.add_middleware(SessionMiddleware, secret_key=settings.console_session_secret, session_cookie=SESSION_COOKIE,
                       max_age=settings.console_session_max_age_s, same_site="lax",
                       https_only=settings.console_cookie_secure)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Response:
        partial = request.query_params.get("partial") == "1"
        html = env.get_template(template).render(
            request=request, csrf=csrf_token(request), csrf_field=CSRF_FIELD, partial=partial,
            poll_ms=settings.console_live_poll_ms, principal=getattr(request.state, "principal", None), **context)
        return HTMLResponse(html, status_code=status_code)

    def principal_of(request: Request) -> tuple[Any, str]:
        token = request.session.get("token")
        if not token:
            raise NotSignedIn()
        try:
            principal = verifier.principal(token)
        except HTTPException:
            request.session.pop("token", None)
            raise NotSignedIn() from None
        request.state.principal = principal
        return principal, token

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if request.method == "GET" and request.query_params.get("partial") != "1":
            return RedirectResponse("/signin", status_code=303)
        return JSONResponse({"detail": "sign in first"}, status_code=401)

    @app.exception_handler(ServiceRefused)
    async def refused(request: Request, exc: ServiceRefused) -> Response:
        return render(request, "error.html", status_code=exc.status, status=exc.status, detail=exc.detail,
                      title="Not available")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return render(request, "error.html", status_code=exc.status_code, status=exc.status_code,
                      detail=str(exc.detail), title="Not available")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "console"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready = await publisher.ping()
        return JSONResponse({"ready": ready, "broker": ready}, status_code=200 if ready else 503)

    app.include_router(signin.routes(settings, verifier, render, oidc_transport))
    app.include_router(pages.routes(settings, services, publisher, render, principal_of, clock.now))
    return app


def run() -> None:
    settings = ConsoleSettings()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.http_host, port=settings.http_port,
                                           log_config=None, access_log=False, proxy_headers=True))
    server.run()
