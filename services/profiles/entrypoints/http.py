from typing import Any

from fastapi import APIRouter

from services.profiles.adapters.repository import ProfileRepository
from services.profiles.adapters.views import program_people, programs_with_enrolment
from shared.auth import Authenticated, require_admin, require_person
from shared.http import not_found


def routes(repo: ProfileRepository) -> APIRouter:
    api = APIRouter(tags=["profiles"])

    @api.get("/profiles/{person_id}")
    async def get_profile(person_id: str, principal: Authenticated) -> dict[str, Any]:
        require_person(principal, person_id)
        record = await repo.get(principal.org, person_id)
        if record is None:
            raise not_found("profile")
        return {**record["profile"], "version": record["version"], "active": record["active"]}

    @api.get("/people/{person_id}/export")
    async def export(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """Right of access, this service's part: the profile record as kept (the person or an admin)."""
        require_person(principal, person_id)
        return {"profile": await repo.get(principal.org, person_id)}

    @api.get("/programs")
    async def programs(principal: Authenticated) -> dict[str, Any]:
        """Every program of the org with its configuration and people enrolled and active. Admins only."""
        require_admin(principal)
        return {"programs": await programs_with_enrolment(repo, principal.org)}

    @api.get("/programs/{program_id}/people")
    async def people(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """Everyone enrolled in the program (names, departments, active). Admins only."""
        require_admin(principal)
        return {"program_id": program_id, "people": await program_people(repo, principal.org, program_id)}

    return api
