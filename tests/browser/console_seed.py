"""A small seeded org for the console tests: a continuous program with two running partnerships (one
checks in, one never does and fizzles) and a cohort program waiting for an admin's preview and approval.
Everything is written the way a frontend writes it: events on the ingress topics."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend

ORG = "console-org"
OTHER_ORG = "console-other-org"
LIVE = "pilot"
COHORT = "spring-cohort"
WINDOWS = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]


def person(pid: str, name: str, department: str, offers: list[str], wants: list[str], program: str,
           tz: str = "Europe/London", org: str = ORG) -> dict[str, Any]:
    return {"org_id": org, "person_id": pid, "program_ids": [program], "display_name": name,
            "email": f"{pid}@example.com", "department": department, "site": "HQ", "timezone": tz,
            "languages": ["en"], "career_stage": "mid", "offers": [{"skill": s, "level": 4} for s in offers],
            "wants": [{"skill": s, "goal": f"get better at {s}", "priority": 3} for s in wants],
            "meeting_modes": ["video"], "availability": WINDOWS, "max_partners": 1, "channels": ["email", "inbox"]}


PEOPLE = [
    person("ana", "Ana Admiral", "Finance", ["leadership"], ["social media"], LIVE, "America/New_York"),
    person("ben", "Ben Builder", "Marketing", ["social media"], ["leadership"], LIVE),
    # Cai's webhook fails for good (no webhook secret for the org): a failed notification for the health page.
    {**person("cai", "Cai Coder", "Finance", ["python"], ["sql"], LIVE), "channels": ["email", "inbox", "webhook"],
     "webhook_url": "http://127.0.0.1:9/hook"},
    person("dee", "Dee Data", "Engineering", ["sql"], ["python"], LIVE),
]
COHORT_PEOPLE = [
    person("eve", "Eve Early", "Sales", ["negotiation"], ["design"], COHORT),
    person("fay", "Fay Finch", "Design", ["design"], ["negotiation"], COHORT),
    person("gus", "Gus Grant", "Sales", ["writing"], ["statistics"], COHORT),
    person("hal", "Hal Hughes", "Research", ["statistics"], ["writing"], COHORT),
]


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def admin_get(stack: EmbeddedStack, service: str, path: str, org: str = ORG) -> Any:
    answer = httpx.get(stack.service_url(service) + path, timeout=10,
                       headers={"Authorization": f"Bearer {stack.token(org, 'admin')}"})
    return answer.json() if answer.status_code == 200 else None


async def _publish(stack: EmbeddedStack, items: list[tuple[str, dict[str, Any]]], pause: float = 0.0) -> None:
    async with Frontend(stack.kafka_bootstrap) as fe:
        for topic, payload in items:
            await fe.publish(topic, payload)
            if pause:
                await asyncio.sleep(pause)


def publish(stack: EmbeddedStack, *items: tuple[str, dict[str, Any]], pause: float = 0.0) -> None:
    asyncio.run(_publish(stack, list(items), pause))


def seed(stack: EmbeddedStack) -> dict[str, Any]:
    """The seeded org; returns the two running partnerships' match ids."""
    live = {"org_id": ORG, "program_id": LIVE, "name": "Pilot programme", "cadence": "weekly", "duration_weeks": 52,
            "session_minutes": 60, "cross_department": "preferred", "proposal_ttl_days": 90,
            "fizzle_after_missed": 2}
    closes = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
    cohort = {"org_id": ORG, "program_id": COHORT, "name": "Spring cohort", "cadence": "weekly",
              "duration_weeks": 52, "session_minutes": 60, "matching": "cohort", "approval_required": True,
              "registration_closes_at": closes, "proposal_ttl_days": 90}
    other = {"org_id": OTHER_ORG, "program_id": LIVE, "name": "Other org's pilot", "cadence": "weekly",
             "duration_weeks": 52, "session_minutes": 60}
    publish(stack, ("programs.configured", live), ("programs.configured", cohort), ("programs.configured", other))
    wait_until(lambda: admin_get(stack, "matcher", "/programs/match-counts") and len(
        admin_get(stack, "matcher", "/programs/match-counts")["programs"]) == 2, "both programs at the matcher")
    publish(stack, *(("profiles.submitted", p) for p in PEOPLE + COHORT_PEOPLE), pause=0.3)
    publish(stack, ("profiles.submitted", person("zed", "Zed Zulu", "Legal", ["law"], ["python"], LIVE,
                                                 org=OTHER_ORG)))

    def proposed() -> list[dict[str, Any]]:
        got = admin_get(stack, "matcher", f"/programs/{LIVE}/matches")
        return [m for m in (got or {}).get("matches", []) if m["status"] == "proposed"]

    matches = wait_until(lambda: len(proposed()) == 2 and proposed(), "two proposals in the pilot")
    publish(stack, *(("matches.responded", {"org_id": ORG, "match_id": m["match_id"], "person_id": p,
                                            "decision": "accept"})
                     for m in matches for p in (m["person_a"], m["person_b"])))
    pairs = {frozenset((m["person_a"], m["person_b"])): m["match_id"] for m in matches}
    assert set(pairs) == {frozenset(("ana", "ben")), frozenset(("cai", "dee"))}, pairs
    for match_id in pairs.values():
        wait_until(lambda mid=match_id: (admin_get(stack, "scheduler", f"/matches/{mid}/schedule") or {}).get(
            "status") == "active", f"the schedule of {match_id}")
    return {"ana_ben": pairs[frozenset(("ana", "ben"))], "cai_dee": pairs[frozenset(("cai", "dee"))]}
