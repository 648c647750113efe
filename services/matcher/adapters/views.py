"""Read models of the matcher's own data for the admin console and "my mentoring": a program's matches with
the partners' names and departments, match counts per program, and an admin's withdrawal or ending of a
match. Only the matcher's database is read or written here."""

from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Any

from services.matcher import handlers
from services.matcher.adapters.repository import MatcherRepository
from services.matcher.domain.match import IllegalTransition, Match, MatchStatus
from shared.readcache import ReadCache
from shared.store import Tx, UnitOfWork, find_in

MATCH_FIELDS = {"_id": 1, "program_id": 1, "person_a": 1, "person_b": 1, "status": 1, "score": 1,
                "a_teaches_b": 1, "b_teaches_a": 1, "explanation": 1, "expires_at": 1, "reason": 1,
                "accepted_by": 1, "created_at": 1, "updated_at": 1}
BRIEF_FIELDS = {k: v for k, v in MATCH_FIELDS.items() if k not in ("a_teaches_b", "b_teaches_a", "explanation")}
"""A match without what each teaches the other and its explanation: a list's row (a tenth of the bytes)."""


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
    return {"match_id": match.match_id, "program_id": match.program_id, "status": match.status.value,
            "reason": match.reason}


REPORT_FIELDS = {"_id": 0, "unmatched": 1, "objective": 1, "coverage": 1, "mode": 1, "participants": 1, "matched": 1}
OPEN_VALUES = (MatchStatus.PROPOSED.value, MatchStatus.ACCEPTED.value)
FORMED_VALUES = (*OPEN_VALUES, MatchStatus.ENDED.value)
NO_PARTNER_YET = "no eligible partner with free capacity yet"


def _hours(doc: dict[str, Any]) -> float | None:
    created, updated = doc.get("created_at"), doc.get("updated_at")
    if not isinstance(created, datetime) or not isinstance(updated, datetime):
        return None
    return (updated - created).total_seconds() / 3600


def summarise(matches: list[dict[str, Any]], people: dict[str, dict[str, str]], pool: list[str],
              report: dict[str, Any] | None) -> dict[str, Any]:
    """A program's figures from its matches (small projections) and its active pool, with the order of
    its matches (created, then id) for paging. Pure: `people` maps person id -> display_name/department
    for everyone the matches and the pool name; `pool` is the active people, in order."""
    ordered = sorted(matches, key=lambda d: (d["created_at"], d["_id"]))
    reasons: dict[str, int] = {}
    cells: dict[tuple[str, str], int] = {}
    waits: list[float] = []
    in_open: set[str] = set()
    for d in ordered:
        status = d["status"]
        if status == MatchStatus.DECLINED.value:
            reason = d.get("reason") or "declined"
            reasons[reason] = reasons.get(reason, 0) + 1
        if status in OPEN_VALUES:
            in_open.update((d["person_a"], d["person_b"]))
        if status in FORMED_VALUES:
            a = people.get(d["person_a"], {}).get("department", "") or "(none)"
            b = people.get(d["person_b"], {}).get("department", "") or "(none)"
            key = (a, b) if a <= b else (b, a)
            cells[key] = cells.get(key, 0) + 1
        if status == MatchStatus.ACCEPTED.value and (hours := _hours(d)) is not None:
            waits.append(hours)  # a running partnership's last change is its acceptance
    reported: dict[str, list[str]] = (report or {}).get("unmatched") or {}
    unmatched = [{"person_id": pid, "display_name": people.get(pid, {}).get("display_name") or pid,
                  "department": people.get(pid, {}).get("department", ""),
                  "reason": "; ".join(reported.get(pid, [])) or NO_PARTNER_YET}
                 for pid in pool if pid not in in_open]
    return {
        "matches": counted("", ordered)["matches"], "decline_reasons": reasons,
        "median_hours_to_match": round(median(waits), 2) if waits else None,
        "pool_people": len(pool), "matched_people": len(pool) - len(unmatched),
        "department_pairs": [[a, b, n] for (a, b), n in sorted(cells.items())],
        "cohort": report and {k: report.get(k) for k in ("objective", "coverage", "mode", "participants", "matched")},
        "unmatched": unmatched, "order": [(d["_id"], d["status"]) for d in ordered],
    }


def counted(program_id: str, matches: list[dict[str, Any]]) -> dict[str, Any]:
    """A program's matches by status, and the people in at least one running partnership."""
    statuses: dict[str, int] = {}
    running: set[str] = set()
    for d in matches:
        statuses[d["status"]] = statuses.get(d["status"], 0) + 1
        if d["status"] == MatchStatus.ACCEPTED.value:
            running.update((d["person_a"], d["person_b"]))
    return {"program_id": program_id, "matches": statuses, "people_matched": len(running)}


class ProgramReads:
    """The console's reads of one program, bounded per request: the figures and the order of the rows
    come from a short in-process memo (`shared.readcache`) of small projections; a page of rows is then
    read by id. Only the matcher's own database is read."""

    def __init__(self, repo: MatcherRepository, views: MatcherViews, cache: ReadCache[Any] | None = None) -> None:
        self.repo, self.views = repo, views
        self.cache: ReadCache[Any] = cache or ReadCache()

    def invalidate(self, org_id: str, program_id: str) -> None:
        self.cache.invalidate(("program", org_id, program_id))
        self.cache.invalidate(("counts", org_id))

    async def summary(self, org_id: str, program_id: str) -> dict[str, Any]:
        return await self.cache.get(("program", org_id, program_id), lambda: self._summary(org_id, program_id))  # type: ignore[no-any-return]

    async def _summary(self, org_id: str, program_id: str) -> dict[str, Any]:
        docs = await self.repo.ledger.rows((org_id, program_id))
        program = await self.repo.program(org_id, program_id)
        people: dict[str, dict[str, str]] = {}
        pool: list[str] = []
        if program is not None:
            index = await self.repo.pool_index(program)  # cached by the matcher, refreshed incrementally
            for pid in sorted(index.row):
                person = index.get(pid)
                if person is not None:
                    pool.append(pid)
                    people[pid] = {"display_name": person.display_name, "department": person.department}
        missing = {p for d in docs for p in (d["person_a"], d["person_b"]) if p not in people}
        people.update(await self.views.people(org_id, missing))
        report = await self._report(org_id, program_id)
        return summarise(docs, people, pool, report)

    async def _report(self, org_id: str, program_id: str) -> dict[str, Any] | None:
        cursor = self.repo.reports.find({"org_id": org_id, "program_id": program_id}, REPORT_FIELDS)
        docs = await cursor.sort("requested_at", -1).limit(1).to_list(1)
        return docs[0] if docs else None

    async def match_counts(self, org_id: str) -> dict[str, Any]:
        async def compute() -> dict[str, Any]:
            programs = sorted(p["program_id"] for p in await self.views.programs(org_id))
            return {"programs": [counted(pid, await self.repo.ledger.rows((org_id, pid))) for pid in programs]}

        return await self.cache.get(("counts", org_id), compute)  # type: ignore[no-any-return]

    async def matches_page(self, org_id: str, program_id: str, statuses: set[str], offset: int,
                           limit: int, brief: bool = False) -> dict[str, Any]:
        """One page of the program's matches (of these statuses; all when empty), oldest first; `brief`:
        without their teaching and explanation."""
        summary = await self.summary(org_id, program_id)
        ids = [mid for mid, status in summary["order"] if not statuses or status in statuses]
        page = ids[offset:offset + limit]
        # By `_id` alone: with the org in the filter too, SecantusDB would read every match of the org.
        found = await find_in(self.repo.matches, {}, "_id", page, {**(BRIEF_FIELDS if brief else MATCH_FIELDS),
                                                                    "org_id": 1})
        docs = {d["_id"]: d for d in found if d.pop("org_id", None) == org_id}
        people = await self.views.people(org_id, (p for d in docs.values() for p in (d["person_a"], d["person_b"])))
        return {"program_id": program_id, "total": len(ids), "offset": offset, "limit": limit,
                "matches": [public_match(docs[mid], people) for mid in page if mid in docs]}
