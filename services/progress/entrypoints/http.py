from typing import Any

from fastapi import APIRouter

from services.progress.domain import PERSISTENT_AFTER_SESSIONS, ledger, persistent_flags, program_outcomes
from services.progress.entrypoints.consumers import dependencies
from shared.auth import Authenticated, require_admin, require_member
from shared.contract import BalanceFields
from shared.http import not_found
from shared.runtime import Context


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["progress"])
    deps = dependencies(ctx)
    repo = deps.repo

    @api.get("/partnerships/{match_id}/balance")
    async def balance(match_id: str, principal: Authenticated) -> BalanceFields:
        p = await repo.get(principal.org, match_id)
        if p is None:
            raise not_found("partnership")
        require_member(principal, p.person_a, p.person_b)
        return ledger(p)

    @api.get("/programs/{program_id}/flags")
    async def flags(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """Flags still set PERSISTENT_AFTER_SESSIONS sessions after they were raised. Admins only."""
        require_admin(principal)
        running = await repo.of_program(principal.org, program_id, ("active",))
        return {"program_id": program_id, "persistent_after_sessions": PERSISTENT_AFTER_SESSIONS,
                "flags": persistent_flags(running, deps.now())}

    @api.get("/programs/{program_id}/outcomes")
    async def outcomes(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """Admins only."""
        require_admin(principal)
        thresholds = await repo.thresholds(principal.org, program_id)
        return program_outcomes(program_id, await repo.of_program(principal.org, program_id)) | {
            "thresholds": thresholds.to_doc()}

    return api
