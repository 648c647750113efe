from typing import Any

from fastapi import APIRouter

from services.matcher.adapters.repository import MatcherRepository
from shared.http import OrgId
from shared.runtime import Context

PUBLIC = ("person_a", "person_b", "program_id", "status", "score", "a_teaches_b", "b_teaches_a", "explanation",
          "expires_at", "reason", "accepted_by")


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["matches"])
    repo = MatcherRepository(ctx.store.db)

    @api.get("/people/{person_id}/matches")
    async def matches_of(person_id: str, org_id: OrgId) -> list[dict[str, Any]]:
        return [{"match_id": m["_id"], **{k: m.get(k) for k in PUBLIC}} for m in await repo.matches_of(org_id, person_id)]

    return api
