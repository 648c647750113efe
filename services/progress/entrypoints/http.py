from typing import Any

from fastapi import APIRouter

from services.progress.adapters.repository import ProgressRepository, partnership_to_doc
from services.progress.adapters.views import partnership_view
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


def routes(repo: ProgressRepository, now: Now) -> APIRouter:
    api = APIRouter(tags=["progress"])

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
        return program_outcomes(program_id, await repo.of_program(principal.org, program_id)) | {
            "thresholds": thresholds.to_doc()}

    @api.get("/programs/{program_id}/partnerships")
    async def program_partnerships(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """Every partnership of the program (running and ended): its learning balance and the flags set
        now, with their reasons. Admins only."""
        require_admin(principal)
        return {"program_id": program_id,
                "partnerships": [partnership_view(p) for p in await repo.of_program(principal.org, program_id)]}

    @api.get("/people/{person_id}/partnerships")
    async def my_partnerships(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """The person's partnerships with their balance and the person's own check-ins."""
        require_person(principal, person_id)
        return {"person_id": person_id, "partnerships": [
            partnership_view(p, checkins_of=person_id) for p in await repo.of_person(principal.org, person_id)]}

    return api
