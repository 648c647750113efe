from typing import Any

from fastapi import APIRouter

from services.matcher.adapters.repository import repository
from shared.http import OrgId, not_found
from shared.runtime import Context

PUBLIC = ("person_a", "person_b", "program_id", "status", "score", "a_teaches_b", "b_teaches_a", "explanation",
          "expires_at", "reason", "accepted_by")


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["matches"])
    repo = repository(ctx)

    @api.get("/people/{person_id}/matches")
    async def matches_of(person_id: str, org_id: OrgId) -> list[dict[str, Any]]:
        return [{"match_id": m["_id"], **{k: m.get(k) for k in PUBLIC}} for m in await repo.matches_of(org_id, person_id)]

    @api.get("/programs/{program_id}/cohort-report")
    async def cohort_report(program_id: str, org_id: OrgId) -> dict[str, Any]:
        """The newest whole-cohort run of the program: objective (and the LP upper bound in fast mode),
        coverage with the reason each unmatched person was left out, the department matrix and the
        pairs it proposed (`match_ids`)."""
        report = await repo.cohort_report(org_id, program_id)
        if report is None:
            raise not_found("cohort report")
        return report

    return api
