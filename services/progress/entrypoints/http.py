from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.progress.adapters.repository import ProgressRepository, partnership_from_doc, partnership_to_doc
from services.progress.adapters.views import partnership_view, partnerships_by_match
from services.progress.domain import (
    PERSISTENT_AFTER_SESSIONS,
    PartnershipStatus,
    ledger,
    persistent_flags,
    program_outcomes,
)
from shared.auth import Authenticated, require_admin, require_member, require_person
from shared.clock import Now
from shared.contract import BalanceFields
from shared.http import not_found
from shared.readcache import IDS_MAX, PAGE_DEFAULT, PAGE_MAX, ReadCache


def routes(repo: ProgressRepository, now: Now) -> APIRouter:
    api = APIRouter(tags=["progress"])
    figures: ReadCache[dict[str, Any]] = ReadCache()

    async def program_figures(org_id: str, program_id: str) -> dict[str, Any]:
        """The program's outcomes and its flagged running partnerships, from this process's copy of its
        partnerships (`shared.pulled`), memoised for a few seconds (`shared.readcache`)."""
        async def compute() -> dict[str, Any]:
            partnerships = [partnership_from_doc(d) for d in await repo.copies.rows((org_id, program_id))]
            flagged = sorted((partnership_view(p) for p in partnerships
                              if p.status is PartnershipStatus.ACTIVE and p.flags), key=lambda v: v["match_id"])
            return {"outcomes": program_outcomes(program_id, partnerships), "flagged": flagged}

        return await figures.get((org_id, program_id), compute)

    @api.get("/partnerships/{match_id}/balance")
    async def balance(match_id: str, principal: Authenticated) -> BalanceFields:
        p = await repo.get(principal.org, match_id)
        if p is None:
            raise not_found("partnership")
        require_member(principal, p.person_a, p.person_b)
        return ledger(p)

    @api.get("/people/{person_id}/export")
    async def export(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """Right of access, this service's part: each partnership with its sessions and check-ins. The
        partner's private notes are theirs: never included."""
        require_person(principal, person_id)
        partnerships = []
        for p in await repo.of_person(principal.org, person_id):
            doc = partnership_to_doc(p)
            doc["checkins"] = [c if c["person_id"] == person_id else {**c, "note": None} for c in doc["checkins"]]
            partnerships.append({k: v for k, v in doc.items() if k != "_id"})
        return {"partnerships": partnerships}

    @api.get("/programs/{program_id}/flags")
    async def flags(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """Flags still set PERSISTENT_AFTER_SESSIONS sessions after they were raised. Admins only."""
        require_admin(principal)
        running = await repo.of_program(principal.org, program_id, (PartnershipStatus.ACTIVE,))
        return {"program_id": program_id, "persistent_after_sessions": PERSISTENT_AFTER_SESSIONS,
                "flags": persistent_flags(running, now())}

    @api.get("/programs/{program_id}/outcomes")
    async def outcomes(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """Admins only."""
        require_admin(principal)
        thresholds = await repo.thresholds(principal.org, program_id)
        return (await program_figures(principal.org, program_id))["outcomes"] | {"thresholds": thresholds.to_doc()}

    @api.get("/programs/{program_id}/flagged")
    async def flagged(program_id: str, principal: Authenticated, offset: int = Query(0, ge=0),
                      limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX)) -> dict[str, Any]:
        """A page of the program's running partnerships that are flagged now (one-sided, fizzling), each
        with its balance and flag reasons, and `total`. Admins only."""
        require_admin(principal)
        rows = (await program_figures(principal.org, program_id))["flagged"]
        return {"program_id": program_id, "total": len(rows), "offset": offset, "limit": limit,
                "partnerships": rows[offset:offset + limit]}

    @api.get("/programs/{program_id}/partnerships")
    async def program_partnerships(program_id: str, principal: Authenticated,
                                   match_id: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        """Every partnership of the program (running and ended): its learning balance and the flags set
        now, with their reasons; with `match_id` repeated (at most 200), only those. Admins only."""
        require_admin(principal)
        if match_id and len(match_id) > IDS_MAX:
            raise HTTPException(status_code=422, detail=f"at most {IDS_MAX} match_id values")
        if match_id:
            return {"program_id": program_id,
                    "partnerships": await partnerships_by_match(repo, principal.org, program_id, match_id)}
        return {"program_id": program_id,
                "partnerships": [partnership_view(p) for p in await repo.of_program(principal.org, program_id)]}

    @api.get("/people/{person_id}/partnerships")
    async def my_partnerships(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """The person's partnerships with their balance and the person's own check-ins."""
        require_person(principal, person_id)
        return {"person_id": person_id, "partnerships": [
            partnership_view(p, checkins_of=person_id) for p in await repo.of_person(principal.org, person_id)]}

    return api
