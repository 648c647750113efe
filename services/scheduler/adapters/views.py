"""Read models of the scheduler's own data for the admin console: each schedule of a program with its
status, its next session, and the reason and suggestion of an unschedulable pair."""

from datetime import datetime
from typing import Any

from services.scheduler.adapters.repository import SchedulerRepository

FIELDS = {"_id": 0, "match_id": 1, "person_a": 1, "person_b": 1, "status": 1, "version": 1, "reason": 1,
          "suggestion": 1, "sessions": 1}


def next_session(sessions: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The first session that has not ended yet (sessions are stored with UTC ISO instants)."""
    later = [s for s in sessions if datetime.fromisoformat(s["ends_at"]) > now and not s.get("cancelled")]
    return min(later, key=lambda s: s["starts_at"]) if later else None


async def program_schedules(repo: SchedulerRepository, org_id: str, program_id: str,
                            now: datetime) -> list[dict[str, Any]]:
    shown = []
    async for doc in repo.schedules.find({"org_id": org_id, "program_id": program_id}, FIELDS):
        sessions = doc.pop("sessions", None) or []
        upcoming = next_session(sessions, now)
        shown.append({**doc, "sessions": len(sessions), "next_session": upcoming and {
            k: upcoming.get(k) for k in ("session_id", "number", "kind", "starts_at", "ends_at", "mode", "teacher",
                                         "learner")}})
    return sorted(shown, key=lambda d: d["match_id"])
