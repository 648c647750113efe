"""Payload builders shared by the integration and end-to-end tests."""

from datetime import UTC, datetime, timedelta

from pymongo import monitoring


def profile(org_id: str, person_id: str, *, offers: list, wants: list, tz: str = "Europe/London",
            windows: list | None = None, department: str = "Engineering", **extra: object) -> dict:
    """A profile as a frontend would write it: plain JSON fields."""
    return {
        "org_id": org_id,
        "person_id": person_id,
        "program_ids": ["pilot"],
        "display_name": person_id.replace("-", " ").title(),
        "email": f"{person_id}@example.com",
        "department": department,
        "site": "HQ",
        "timezone": tz,
        "languages": ["en"],
        "career_stage": "mid",
        "offers": [{"skill": s, "level": 4} for s in offers],
        "wants": [{"skill": s, "goal": f"get better at {s}", "priority": 3} for s in wants],
        "meeting_modes": ["video"],
        "availability": windows or [{"weekday": "tue", "start": "13:00", "end": "17:00"}],
        "max_partners": 1,
        **extra,
    }


PROGRAM = {"program_id": "pilot", "name": "Pilot", "cadence": "biweekly", "duration_weeks": 8,
           "session_minutes": 60, "cross_department": "preferred", "batch_window": 0}


def of_org(events: list[dict], org_id: str) -> list[dict]:
    return [e for e in events if e.get("org_id") == org_id]


def proposal(org_id: str, a: dict, b: dict, a_teaches: tuple[str, str], b_teaches: tuple[str, str]) -> dict:
    """A matches.proposed event between two test profiles, as the matcher would write it."""
    return {
        "org_id": org_id, "match_id": f"m-{org_id}", "program_id": "pilot", "person_a": a["person_id"],
        "person_b": b["person_id"], "score": 0.9, "explanation": [],
        "a_teaches_b": [{"skill": a_teaches[0], "goal": a_teaches[1]}],
        "b_teaches_a": [{"skill": b_teaches[0], "goal": b_teaches[1]}],
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }


def bearer(stack, org_id: str, role: str = "admin", person: str | None = None) -> dict[str, str]:
    """Headers with a bearer token of the stack's key: an admin of the org unless told otherwise."""
    return {"Authorization": f"Bearer {stack.token(org_id, role, person)}"}


def verify_with(stack, monkeypatch) -> None:
    """An in-process app (create_app) verifies tokens with the stack's key, as its service processes do."""
    for name, value in stack.signing_key().service_env().items():
        monkeypatch.setenv(name, value)


class QueryLog(monitoring.CommandListener):
    """A PyMongo command listener that keeps every `find` sent, to be explained afterwards (`examined`)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.finds: list[dict] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)
        if event.command_name == "find":
            self.finds.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


async def examined(db, find: dict) -> int:
    """Documents plus index keys the server examines to answer this `find` (its explain's executionStats):
    SecantusDB's planner falls back to reading a whole collection, or a whole tenant, for shapes it cannot
    bound (a top-level `$or`, two lists, equalities an index does not lead with)."""
    plan = await db.command({"explain": {"find": find["find"], "filter": find.get("filter", {})},
                             "verbosity": "executionStats"})
    stats = plan["executionStats"]
    return stats["totalDocsExamined"] + stats["totalKeysExamined"]
