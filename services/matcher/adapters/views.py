"""Read models of the matcher's own data for the admin console and "my mentoring": a program's matches with
the partners' names and departments, match counts per program, and an admin's withdrawal or ending of a
match. Only the matcher's database is read or written here."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from services.matcher.domain.match import IllegalTransition, Match, MatchStatus
from shared.store import Tx, UnitOfWork, find_in

MATCH_FIELDS = {"_id": 1, "program_id": 1, "person_a": 1, "person_b": 1, "status": 1, "score": 1,
                "a_teaches_b": 1, "b_teaches_a": 1, "explanation": 1, "expires_at": 1, "reason": 1,
                "accepted_by": 1, "created_at": 1, "updated_at": 1}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def public_match(doc: dict[str, Any], people: dict[str, dict[str, str]]) -> dict[str, Any]:
    shown = {k: _iso(v) for k, v in doc.items() if k != "_id"}
    shown["match_id"] = doc["_id"]
    for side in ("a", "b"):
        person = people.get(doc[f"person_{side}"], {})
        shown[f"name_{side}"] = person.get("display_name") or doc[f"person_{side}"]
        shown[f"department_{side}"] = person.get("department", "")
    return shown


class MatcherViews:
    def __init__(self, repo: MatcherRepository) -> None:
        self.repo = repo

    async def people(self, org_id: str, person_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        docs = await find_in(self.repo.people, {"org_id": org_id}, "person_id", ids,
                             {"_id": 0, "person_id": 1, "profile.display_name": 1, "profile.department": 1})
        return {d["person_id"]: {"display_name": d.get("profile", {}).get("display_name", ""),
                                 "department": d.get("profile", {}).get("department", "")} for d in docs}

    async def program_matches(self, org_id: str, program_id: str) -> list[dict[str, Any]]:
        docs = await self.repo.matches.find({"org_id": org_id, "program_id": program_id}, MATCH_FIELDS).to_list(None)
        people = await self.people(org_id, (p for d in docs for p in (d["person_a"], d["person_b"])))
        return [public_match(d, people) for d in sorted(docs, key=lambda d: (d["created_at"], d["_id"]))]

    async def matches_of(self, org_id: str, person_id: str) -> list[dict[str, Any]]:
        docs = await self.repo.matches.find({"org_id": org_id, "people": person_id}, MATCH_FIELDS).to_list(None)
        people = await self.people(org_id, (p for d in docs for p in (d["person_a"], d["person_b"])))
        return [public_match(d, people) for d in sorted(docs, key=lambda d: d["created_at"], reverse=True)]

    async def match_counts(self, org_id: str) -> dict[str, dict[str, int]]:
        """program id -> status -> matches."""
        counts: dict[str, dict[str, int]] = {}
        cursor = await self.repo.matches.aggregate([
            {"$match": {"org_id": org_id}},
            {"$group": {"_id": {"program_id": "$program_id", "status": "$status"}, "n": {"$sum": 1}}}])
        async for row in cursor:
            counts.setdefault(row["_id"]["program_id"], {})[row["_id"]["status"]] = row["n"]
        return counts

    async def matched_people(self, org_id: str) -> dict[str, int]:
        """program id -> people in at least one running partnership."""
        cursor = await self.repo.matches.aggregate([
            {"$match": {"org_id": org_id, "status": MatchStatus.ACCEPTED.value}},
            {"$unwind": "$people"},
            {"$group": {"_id": {"program_id": "$program_id", "person": "$people"}}},
            {"$group": {"_id": "$_id.program_id", "n": {"$sum": 1}}}])
        return {row["_id"]: row["n"] async for row in cursor}

    async def programs(self, org_id: str) -> list[dict[str, Any]]:
        return await self.repo.programs.find({"org_id": org_id}, {"_id": 0, "program_id": 1}).to_list(None)


class AdminRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def admin_close(uow: UnitOfWork, repo: MatcherRepository, org_id: str, match_id: str, *, end: bool,
                      reason: str, at: datetime) -> dict[str, Any]:
    """An admin withdraws a pending proposal (`end=False`) or ends a running partnership (`end=True`):
    `matches.withdrawn` (with `partnership_ended` for an end), and both people are matched again."""

    async def work(tx: Tx) -> dict[str, Any]:
        match = await repo.match(org_id, match_id, tx)
        if match is None:
            raise AdminRefused(404, "match not found")
        wanted = MatchStatus.ACCEPTED if end else MatchStatus.PROPOSED
        if match.status is not wanted:
            raise AdminRefused(409, f"the match is {match.status.value}, not {wanted.value}")
        was = match.status
        try:
            events = match.withdraw(reason, at)
        except IllegalTransition as exc:
            raise AdminRefused(409, str(exc)) from None
        if not await repo.save_transition(tx, match, was):
            raise AdminRefused(409, "the match changed meanwhile: reload")
        for event in events:
            tx.emit(event)
        await handlers._rematch_program_of(tx, repo, match, at)
        return _summary(match)

    return await uow.run(None, work)


def _summary(match: Match) -> dict[str, Any]:
    return {"match_id": match.match_id, "status": match.status.value, "reason": match.reason}
