from typing import Any

from fastapi import APIRouter, HTTPException, Query

from services.notifier.adapters.repository import NotifierRepository
from services.notifier.domain import decode_cursor, encode_cursor
from shared.auth import Authenticated, require_person
from shared.http import not_found
from shared.runtime import Context


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["inbox"])
    repo = NotifierRepository(ctx.store.db)

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

    @api.post("/people/{person_id}/inbox/{entry_id}/read")
    async def mark_read(person_id: str, entry_id: str, principal: Authenticated) -> dict[str, bool]:
        require_person(principal, person_id)
        if not await repo.mark_read(principal.org, person_id, entry_id):
            raise not_found("inbox entry")
        return {"read": True}

    return api
