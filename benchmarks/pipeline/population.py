"""Benchmark people: pairs of complementary colleagues whose skills no other pair shares, so each pair is
proposed to each other and the latency of every email has one submission to answer for."""

from typing import Any

DOMAINS = [("leadership", "social media"), ("negotiation", "data visualisation"), ("budgeting", "python"),
           ("public speaking", "design thinking"), ("strategy", "machine learning")]

LONDON = [{"weekday": d, "start": "13:00", "end": "17:00"} for d in ("tue", "wed", "thu")]
NEW_YORK = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in ("tue", "wed", "thu")]


def program(org_id: str, program_id: str = "bench") -> dict[str, Any]:
    return {"org_id": org_id, "program_id": program_id, "name": "Benchmark cohort", "cross_department": "preferred",
            "session_minutes": 60, "cadence": "biweekly", "duration_weeks": 12, "proposal_ttl_days": 7,
            "batch_window": 0}


def person_id(org_id: str, pair: int, side: str) -> str:
    return f"{org_id}-{pair}{side}"


def email_of(pid: str) -> str:
    return f"{pid}@bench.example"


def pair(org_id: str, k: int, program_id: str = "bench") -> tuple[dict[str, Any], dict[str, Any]]:
    """A senior in London and an early-career colleague in New York who teach each other; unique skills per pair."""
    senior_skill, junior_skill = (f"{s} {k}" for s in DOMAINS[k % len(DOMAINS)])

    def person(side: str, offers: str, wants: str, **fields: Any) -> dict[str, Any]:
        pid = person_id(org_id, k, side)
        return {
            "org_id": org_id, "person_id": pid, "program_ids": [program_id], "display_name": f"Person {k}{side}",
            "email": email_of(pid), "languages": ["en"], "meeting_modes": ["video"], "max_partners": 1,
            "offers": [{"skill": offers, "level": 5}],
            "wants": [{"skill": wants, "goal": f"use {wants} in my next project", "priority": 3}],
            "interests": ["running"], **fields,
        }

    senior = person("a", senior_skill, junior_skill, department="Finance", site="London", timezone="Europe/London",
                    career_stage="senior", availability=LONDON)
    junior = person("b", junior_skill, senior_skill, department="Marketing", site="NYC", timezone="America/New_York",
                    career_stage="early", availability=NEW_YORK)
    return senior, junior
