from typing import Any

from fastapi import APIRouter

from services.matcher.adapters.repository import repository
from shared.auth import Authenticated, require_admin, require_person
from shared.http import not_found
from shared.runtime import Context

PUBLIC = ("person_a", "person_b", "program_id", "status", "score", "a_teaches_b", "b_teaches_a", "explanation",
          "expires_at", "reason", "accepted_by")


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["matches"])
    repo = repository(ctx)

    @api.get("/people/{person_id}/matches")
    async def matches_of(person_id: str, principal: Authenticated) -> list[dict[str, Any]]:
        require_person(principal, person_id)
        return [{"match_id": m["_id"], **{k: m.get(k) for k in PUBLIC}} for m in await repo.matches_of(principal.org, person_id)]

    @api.get("/programs/{program_id}/cohort-report")
    async def cohort_report(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """The newest whole-cohort run of the program: objective (and the LP upper bound in fast mode),
        coverage with the reason each unmatched person was left out, the department matrix and the
        pairs it proposed (`match_ids`). Admins only."""
        require_admin(principal)
        report = await repo.cohort_report(principal.org, program_id)
        if report is None:
            raise not_found("cohort report")
        return report

    return api
