from typing import Any
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from services.notifier import handlers
from services.notifier.adapters.repository import NotifierRepository
from services.notifier.adapters.views import failed_deliveries
from services.notifier.domain import decode_cursor, encode_cursor
from services.notifier.domain.links import InvalidAnswer, LinkClaims, LinkRefused, Purpose
from services.notifier.entrypoints import pages
from services.notifier.settings import NotifierSettings
from shared.auth import Authenticated, require_admin, require_person
from shared.clock import Now
from shared.http import not_found
from shared.store import UnitOfWork


def log() -> structlog.typing.FilteringBoundLogger:
    """Looked up per use, so it follows the logging configuration in force (never a cached one)."""
    return structlog.get_logger()

FORM_MAX_BYTES = 16_384


def routes(uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings, now: Now) -> APIRouter:
    api = APIRouter()
    api.include_router(inbox_routes(repo))
    api.include_router(link_routes(uow, repo, settings, now))
    return api


def inbox_routes(repo: NotifierRepository) -> APIRouter:
    api = APIRouter(tags=["inbox"])

    @api.get("/people/{person_id}/inbox")
    async def inbox(
        person_id: str,
        principal: Authenticated,
        limit: int = Query(default=20, ge=1, le=100),
        before: str | None = Query(
            default=None, description="Cursor: `next_before` of the previous page (a timestamp is also accepted)."
        ),
    ) -> dict[str, Any]:
        require_person(principal, person_id)
        try:
            cursor = decode_cursor(before) if before else None
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        entries = await repo.inbox_page(principal.org, person_id, limit=limit, before=cursor)
        last = entries[-1] if len(entries) == limit else None
        return {"entries": entries, "next_before": last and encode_cursor(last["created_at"], last["entry_id"])}

    @api.get("/people/{person_id}/export")
    async def export(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """Right of access, this service's part: the contact card, deliveries and inbox."""
        require_person(principal, person_id)
        return await repo.export(principal.org, person_id)

    @api.get("/notifications/failed")
    async def failed(principal: Authenticated, limit: int = Query(default=200, ge=1, le=1000)) -> dict[str, Any]:
        """The org's deliveries that failed for good, newest first (no addresses or bodies). Admins only."""
        require_admin(principal)
        return {"failed": await failed_deliveries(repo, principal.org, limit)}

    @api.post("/people/{person_id}/inbox/{entry_id}/read")
    async def mark_read(person_id: str, entry_id: str, principal: Authenticated) -> dict[str, bool]:
        require_person(principal, person_id)
        if not await repo.mark_read(principal.org, person_id, entry_id):
            raise not_found("inbox entry")
        return {"read": True}

    return api


def link_routes(uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings, now: Now) -> APIRouter:
    """The one-click links: GET shows a confirmation page and changes nothing (mail scanners fetch
    links); only its form's POST acts, once. The signed token is the only credential, and it grants
    only its own action. Neither the token nor the URL is ever logged."""
    api = APIRouter(tags=["links"])
    signer = handlers.link_signer(settings)

    def verify(purpose: str, token: str) -> LinkClaims:
        if signer is None or purpose not in set(Purpose):
            raise LinkRefused("no such link")
        return signer.verify(Purpose(purpose), token, now())

    @api.get("/links/{purpose}/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def show(purpose: str, token: str, request: Request) -> HTMLResponse:
        try:
            claims = verify(purpose, token)
        except LinkRefused as exc:
            return refusal(purpose, exc)
        if earlier := await handlers.answered(claims, repo):
            log().info("link.already_answered", purpose=purpose, method="GET")
            return pages.answered(claims.purpose, earlier.summary, published=False)
        log().info("link.shown", purpose=purpose)
        return pages.confirmation(claims.purpose, dict(request.query_params))

    @api.post("/links/{purpose}/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def confirm(purpose: str, token: str, request: Request) -> HTMLResponse:
        try:
            claims = verify(purpose, token)
        except LinkRefused as exc:
            return refusal(purpose, exc)
        form = await form_of(request)
        try:
            answer = await handlers.answer_link(claims, form, uow, repo, now())
        except InvalidAnswer as exc:
            log().info("link.invalid_answer", purpose=purpose)
            return pages.confirmation(claims.purpose, form, problem=str(exc), status=400)
        log().info("link.answered" if answer.published else "link.already_answered", purpose=purpose, method="POST")
        return pages.answered(claims.purpose, answer.summary, published=answer.published)

    return api


def refusal(purpose: str, exc: LinkRefused) -> HTMLResponse:
    status = exc.status if purpose in set(Purpose) else 404
    log().info("link.refused", purpose=purpose if status != 404 else "unknown", status=status)
    return pages.refused(status)


async def form_of(request: Request) -> dict[str, str]:
    """The urlencoded confirmation form, first value of each field; oversized bodies count as empty."""
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
