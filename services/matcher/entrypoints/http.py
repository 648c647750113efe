from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from services.matcher.adapters.views import AdminRefused, MatcherViews, ProgramReads, admin_close
from shared.auth import Authenticated, require_admin, require_member, require_person
from shared.clock import Now
from shared.http import not_found
from shared.readcache import PAGE_DEFAULT, PAGE_MAX
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

    @api.get("/programs/{program_id}/pool")
    async def pool(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """How many active people the matcher holds in the program now (a preview's participants are
        those of them with a free place), and when its next batch is due (continuous mode; null when
        none is pending). Admins only."""
        require_admin(principal)
        program = await repo.program(principal.org, program_id)
        if program is None:
            raise not_found("program")
        return {"program_id": program_id, "people": len(await repo.pool_revisions(program)),
                "next_batch_at": await repo.batch_due_at(program)}

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

    api.include_router(console_routes(uow, repo, now))
    return api


ADMIN_END_REASON = "ended by a program admin"
ADMIN_WITHDRAW_REASON = "withdrawn by a program admin"


def console_routes(uow: UnitOfWork, repo: MatcherRepository, now: Now) -> APIRouter:
    """What the web console reads (and the two admin actions), always inside the token's org."""
    api = APIRouter(tags=["console"])
    views = MatcherViews(repo)

    reads = ProgramReads(repo, views)

    @api.get("/programs/match-counts")
    async def match_counts(principal: Authenticated) -> dict[str, Any]:
        """Every program the matcher knows, with its matches counted by status (memoised for a few
        seconds). Admins only."""
        require_admin(principal)
        return await reads.match_counts(principal.org)

    @api.get("/programs/{program_id}/summary")
    async def program_summary(program_id: str, principal: Authenticated) -> dict[str, Any]:
        """The program's figures: matches by status, decline reasons, the median hours from proposal to
        partnership, people in the pool and matched, the department pairs formed (`[a, b, n]`, a ≤ b)
        and the newest cohort run's objective; memoised for a few seconds. Admins only."""
        require_admin(principal)
        summary = await reads.summary(principal.org, program_id)
        return {"program_id": program_id, "unmatched": len(summary["unmatched"]),
                **{k: v for k, v in summary.items() if k not in ("unmatched", "order")}}

    @api.get("/programs/{program_id}/unmatched")
    async def program_unmatched(program_id: str, principal: Authenticated,
                                offset: int = Query(0, ge=0), limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX),
                                ) -> dict[str, Any]:
        """A page of the active people with no partner or pending proposal, and why (the newest cohort
        run's reasons). Admins only."""
        require_admin(principal)
        rows = (await reads.summary(principal.org, program_id))["unmatched"]
        return {"program_id": program_id, "total": len(rows), "offset": offset, "limit": limit,
                "people": rows[offset:offset + limit]}

    @api.get("/programs/{program_id}/matches")
    async def program_matches(program_id: str, principal: Authenticated,
                              status: Annotated[list[str] | None, Query()] = None, offset: int = Query(0, ge=0),
                              limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX), brief: bool = False,
                              ) -> dict[str, Any]:
        """A page of the program's matches, oldest first (`status` repeated to keep only those), with the
        partners' names and departments, and `total`; `brief=true` leaves out what each teaches the other
        and the score's explanation. Admins only."""
        require_admin(principal)
        return await reads.matches_page(principal.org, program_id, set(status or ()), offset, limit, brief)

    @api.get("/people/{person_id}/partners")
    async def partners(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """The person's matches with both partners' names: "my mentoring"."""
        require_person(principal, person_id)
        return {"person_id": person_id, "matches": await views.matches_of(principal.org, person_id)}

    @api.get("/matches/{match_id}")
    async def match(match_id: str, principal: Authenticated) -> dict[str, Any]:
        """One match: either partner, or an admin of the org."""
        found = await repo.match(principal.org, match_id)
        if found is None:
            raise not_found("match")
        require_member(principal, found.person_a, found.person_b)
        doc = found.to_doc()
        return {"match_id": found.match_id, **{k: doc.get(k) for k in PUBLIC}}

    async def close(match_id: str, principal: Authenticated, *, end: bool) -> dict[str, Any]:
        require_admin(principal)
        try:
            closed = await admin_close(uow, repo, principal.org, match_id, end=end,
                                       reason=ADMIN_END_REASON if end else ADMIN_WITHDRAW_REASON, at=now())
        except AdminRefused as refused:
            raise HTTPException(status_code=refused.status, detail=str(refused)) from None
        reads.invalidate(principal.org, closed["program_id"])
        return closed

    @api.post("/matches/{match_id}/withdraw")
    async def withdraw(match_id: str, principal: Authenticated) -> dict[str, Any]:
        """An admin withdraws a pending proposal: `matches.withdrawn`, and both are matched again."""
        return await close(match_id, principal, end=False)

    @api.post("/matches/{match_id}/end")
    async def end(match_id: str, principal: Authenticated) -> dict[str, Any]:
        """An admin ends a running partnership: `matches.withdrawn` with `partnership_ended`."""
        return await close(match_id, principal, end=True)

    return api


HIDDEN = ("_id", "fingerprint", "people")


def shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in HIDDEN}


async def refusing(work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        return await work
    except handlers.PreviewRefused as refused:
        raise HTTPException(status_code=refused.status, detail=str(refused)) from None
