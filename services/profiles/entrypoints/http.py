from typing import Any

from fastapi import APIRouter

from services.profiles.adapters.repository import ProfileRepository
from shared.auth import Authenticated, require_person
from shared.http import not_found
from shared.runtime import Context


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["profiles"])
    repo = ProfileRepository(ctx.store.db)

    @api.get("/profiles/{person_id}")
    async def get_profile(person_id: str, principal: Authenticated) -> dict[str, Any]:
        require_person(principal, person_id)
        record = await repo.get(principal.org, person_id)
        if record is None:
            raise not_found("profile")
        return {**record["profile"], "version": record["version"], "active": record["active"]}

    return api
