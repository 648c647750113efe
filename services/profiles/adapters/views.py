"""Read models of the profiles service's own data for the admin console: the programs with their enrolment
(from the counters the repository keeps), the people of a program."""

from typing import Any

from services.profiles.adapters.repository import ProfileRepository
from shared.store import find_in

PROGRAM_FIELDS = {"_id": 0, "program_id": 1, "name": 1, "matching": 1, "objective": 1, "cross_department": 1,
                  "cadence": 1, "session_minutes": 1, "duration_weeks": 1, "proposal_ttl_days": 1,
                  "approval_required": 1, "registration_closes_at": 1}


async def programs_with_enrolment(repo: ProfileRepository, org_id: str) -> list[dict[str, Any]]:
    """Every configured program of the org (and any program a profile names), with people enrolled
    (every profile that names it) and active (of those, the ones not withdrawn): from the enrolment
    counters each write keeps, a few documents per program whatever the org's size."""
    counts = await repo.enrolment_counts(org_id)
    configured = {d["program_id"]: d async for d in repo.programs.find({"org_id": org_id}, PROGRAM_FIELDS)}
    return [{**configured.get(pid, {"program_id": pid, "name": ""}), "configured": pid in configured,
             "enrolled": counts.get(pid, (0, 0))[0], "active": counts.get(pid, (0, 0))[1]}
            for pid in sorted(set(configured) | set(counts))]


PERSON_FIELDS = {"_id": 0, "person_id": 1, "active": 1, "profile.display_name": 1, "profile.department": 1,
                 "profile.timezone": 1, "profile.program_ids": 1}


def _person(d: dict[str, Any]) -> dict[str, Any]:
    return {"person_id": d["person_id"], "active": d.get("active", False),
            "display_name": d.get("profile", {}).get("display_name", ""),
            "department": d.get("profile", {}).get("department", ""),
            "timezone": d.get("profile", {}).get("timezone", "UTC")}


async def program_people(repo: ProfileRepository, org_id: str, program_id: str) -> list[dict[str, Any]]:
    """Everyone enrolled in the program: id, name, department, time zone and whether they are active."""
    cursor = repo.profiles.find({"org_id": org_id, "profile.program_ids": program_id}, PERSON_FIELDS)
    return sorted([_person(d) async for d in cursor], key=lambda p: p["person_id"])


async def people_by_id(repo: ProfileRepository, org_id: str, program_id: str,
                       person_ids: list[str]) -> list[dict[str, Any]]:
    """Those of these people who are enrolled in the program (a bounded read by the unique index)."""
    docs = await find_in(repo.profiles, {"org_id": org_id}, "person_id", person_ids, PERSON_FIELDS)
    return sorted([_person(d) for d in docs if program_id in d.get("profile", {}).get("program_ids", [])],
                  key=lambda p: p["person_id"])
