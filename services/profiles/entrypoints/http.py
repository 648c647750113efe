from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.profiles.adapters.repository import ProfileRepository
from services.profiles.adapters.views import people_by_id, program_people, programs_with_enrolment
from shared.auth import Authenticated, require_admin, require_person
from shared.http import not_found
from shared.readcache import IDS_MAX


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
        """Every program of the org with its configuration and people enrolled and active (current: read
        from the enrolment counters, not from the profiles). Admins only."""
        require_admin(principal)
        return {"programs": await programs_with_enrolment(repo, principal.org)}

    @api.get("/programs/{program_id}/people")
    async def people(program_id: str, principal: Authenticated,
                     person_id: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        """Everyone enrolled in the program (names, departments, active); with `person_id` repeated (at
        most 200), only those of them who are enrolled. Admins only."""
        require_admin(principal)
        if person_id and len(person_id) > IDS_MAX:
            raise HTTPException(status_code=422, detail=f"at most {IDS_MAX} person_id values")
        if person_id:
            return {"program_id": program_id, "people": await people_by_id(repo, principal.org, program_id, person_id)}
        return {"program_id": program_id, "people": await program_people(repo, principal.org, program_id)}

    return api
