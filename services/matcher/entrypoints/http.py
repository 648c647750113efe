from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, HTTPException

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from shared.auth import Authenticated, require_admin, require_person
from shared.clock import Now
from shared.http import not_found
from shared.store import UnitOfWork

PUBLIC = ("person_a", "person_b", "program_id", "status", "score", "a_teaches_b", "b_teaches_a", "explanation",
          "expires_at", "reason", "accepted_by")


def routes(uow: UnitOfWork, repo: MatcherRepository, now: Now) -> APIRouter:
    api = APIRouter(tags=["matches"])

    @api.get("/people/{person_id}/matches")
    async def matches_of(person_id: str, principal: Authenticated) -> list[dict[str, Any]]:
        require_person(principal, person_id)
        matches = await repo.matches_of(principal.org, person_id)
        return [{"match_id": m["_id"], **{k: m.get(k) for k in PUBLIC}} for m in matches]

    @api.get("/people/{person_id}/export")
    async def export(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """Right of access, this service's part: the profile copy it matches with, and every match."""
        require_person(principal, person_id)
        matches = await repo.matches_of(principal.org, person_id)
        return {"profile_copy": await repo.person_doc(principal.org, person_id),
                "matches": [{"match_id": m["_id"], **{k: m.get(k) for k in PUBLIC}} for m in matches]}

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

    @api.post("/programs/{program_id}/cohort-previews", status_code=201)
    async def preview(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """What a whole-cohort match would propose now, without proposing anything: the objective (and
        the LP bound in fast mode), coverage with the reason each unmatched person was left out, the
        department matrix and the pairs with their explanations. Admins only."""
        require_admin(principal)
        return shown(await refusing(handlers.preview_cohort(uow, repo, principal.org, program_id, now())))

    @api.get("/programs/{program_id}/cohort-previews/{preview_id}")
    async def preview_of(program_id: str, preview_id: str, principal: Authenticated) -> dict[str, Any]:
        """A preview by id (`latest`: the newest), with its status: pending or approved."""
        require_admin(principal)
        doc = await repo.preview(principal.org, program_id, None if preview_id == "latest" else preview_id)
        if doc is None:
            raise not_found("preview")
        return shown(doc)

    @api.post("/programs/{program_id}/cohort-previews/{preview_id}/approve")
    async def approve(program_id: str, preview_id: str, principal: Authenticated) -> dict[str, Any]:
        """Propose exactly this preview's pairs (once). 409 with the reason when the pool has changed
        since the preview."""
        require_admin(principal)
        return shown(await refusing(handlers.approve_preview(uow, repo, principal.org, program_id, preview_id,
                                                             now())))

    return api


HIDDEN = ("_id", "fingerprint", "people")


def shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in HIDDEN}


async def refusing(work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        return await work
    except handlers.PreviewRefused as refused:
        raise HTTPException(status_code=refused.status, detail=str(refused)) from None
