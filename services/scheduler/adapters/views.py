"""Read models of the scheduler's own data for the admin console: each schedule of a program with its
status, its next session, and the reason and suggestion of an unschedulable pair."""

from datetime import datetime
from typing import Any

from services.scheduler.adapters.repository import SchedulerRepository
from services.scheduler.domain import ScheduleStatus
from shared.store import find_in

FIELDS = {"_id": 0, "match_id": 1, "person_a": 1, "person_b": 1, "status": 1, "version": 1, "reason": 1,
          "suggestion": 1, "sessions": 1}


def next_session(sessions: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The first session that has not ended yet (sessions are stored with UTC ISO instants)."""
    later = [s for s in sessions if datetime.fromisoformat(s["ends_at"]) > now and not s.get("cancelled")]
    return min(later, key=lambda s: s["starts_at"]) if later else None


def _shown(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k not in ("_id", "org_id", "program_id")}
    sessions = doc.pop("sessions", None) or []
    upcoming = next_session(sessions, now)
    return {**doc, "sessions": len(sessions), "next_session": upcoming and {
        k: upcoming.get(k) for k in ("session_id", "number", "kind", "starts_at", "ends_at", "mode", "teacher",
                                     "learner")}}


async def program_schedules(repo: SchedulerRepository, org_id: str, program_id: str,
                            now: datetime) -> list[dict[str, Any]]:
    shown = [_shown(doc, now) async for doc in repo.schedules.find({"org_id": org_id, "program_id": program_id},
                                                                    FIELDS)]
    return sorted(shown, key=lambda d: d["match_id"])


async def schedules_by_match(repo: SchedulerRepository, org_id: str, program_id: str, match_ids: list[str],
                             now: datetime) -> list[dict[str, Any]]:
    """The schedules of these matches that belong to the program: a bounded read by the unique
    (org_id, match_id) index (the program is checked here: a further field would defeat the index)."""
    docs = await find_in(repo.schedules, {"org_id": org_id}, "match_id", match_ids, {**FIELDS, "program_id": 1})
    return sorted((_shown(d, now) for d in docs if d.get("program_id") == program_id), key=lambda d: d["match_id"])


async def unschedulable_of(repo: SchedulerRepository, org_id: str, program_id: str) -> list[dict[str, Any]]:
    """The program's unschedulable pairs with reason and suggestion: an index range over those alone
    (org_id, program_id, status), their sessions left out."""
    cursor = repo.schedules.find({"org_id": org_id, "program_id": program_id,
                                  "status": ScheduleStatus.UNSCHEDULABLE.value},
                                 {"_id": 0, "match_id": 1, "person_a": 1, "person_b": 1, "status": 1, "reason": 1,
                                  "suggestion": 1})
    return sorted(await cursor.to_list(None), key=lambda d: d["match_id"])
