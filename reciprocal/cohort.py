"""A small, realistic enterprise cohort: 12 people, 4 departments, 3 time zones, complementary skills."""

from typing import Any

ORG = "globex"
PROGRAM = "reverse-mentoring-2027"

PROGRAM_EVENT: dict[str, Any] = {
    "org_id": ORG,
    "program_id": PROGRAM,
    "name": "Reverse mentoring 2027",
    "cross_department": "preferred",
    "session_minutes": 45,
    "cadence": "biweekly",
    "duration_weeks": 12,
    "proposal_ttl_days": 7,
}

NY = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in ("tue", "wed", "thu")]
LONDON = [{"weekday": d, "start": "13:30", "end": "17:30"} for d in ("tue", "wed", "thu")]
KOLKATA = [{"weekday": d, "start": "18:30", "end": "21:30"} for d in ("tue", "wed", "thu")]


def person(pid: str, name: str, dept: str, tz: str, stage: str, offers: list, wants: list, interests: list,
           site: str) -> dict[str, Any]:
    availability = {"America/New_York": NY, "Europe/London": LONDON, "Asia/Kolkata": KOLKATA}[tz]
    return {
        "org_id": ORG,
        "person_id": pid,
        "program_ids": [PROGRAM],
        "display_name": name,
        "email": f"{pid}@globex.example",
        "department": dept,
        "site": site,
        "timezone": tz,
        "languages": ["en"],
        "career_stage": stage,
        "offers": [{"skill": s, "level": lvl} for s, lvl in offers],
        "wants": [{"skill": s, "goal": g, "priority": p} for s, g, p in wants],
        "interests": interests,
        "meeting_modes": ["video", "in_person"],
        "availability": availability,
        "max_partners": 1,
    }


PEOPLE: list[dict[str, Any]] = [
    person("maria.lopez", "Maria Lopez", "Finance", "America/New_York", "executive",
           [("leadership", 5), ("budgeting", 5)],
           [("social media", "post about our quarterly results on LinkedIn", 3)], ["running", "jazz"], "NYC"),
    person("dev.patel", "Dev Patel", "Marketing", "Asia/Kolkata", "early",
           [("social media", 5), ("video editing", 4)],
           [("leadership", "lead my first campaign team of four", 3)], ["cricket", "jazz"], "Bengaluru"),
    person("tom.baker", "Tom Baker", "Engineering", "Europe/London", "senior",
           [("software architecture", 5), ("coaching", 4)],
           [("data visualisation", "turn our incident data into a dashboard execs read", 3)], ["cycling"], "London"),
    person("aisha.khan", "Aisha Khan", "People", "America/New_York", "early",
           [("data visualization", 4), ("excel", 5)],
           [("coaching", "run better one-to-ones with my interns", 3)], ["cycling", "podcasts"], "NYC"),
    person("james.wright", "James Wright", "Marketing", "Europe/London", "executive",
           [("public speaking", 5), ("negotiation", 4)],
           [("generative ai", "use AI tools to draft campaign briefs", 3)], ["sailing"], "London"),
    person("priya.sharma", "Priya Sharma", "Engineering", "Asia/Kolkata", "mid",
           [("GenAI", 5), ("python", 5)],
           [("public speaking", "present our platform at the all-hands", 3)], ["sailing", "chess"], "Bengaluru"),
    person("li.wei", "Li Wei", "Finance", "Europe/London", "early",
           [("SMM", 4), ("content strategy", 4)],
           [("financial modelling", "build a three-statement model on my own", 3)], ["photography"], "London"),
    person("robert.chen", "Robert Chen", "People", "America/New_York", "senior",
           [("financial modeling", 4), ("coaching", 5)],
           [("content strategy", "grow our employer brand content", 2)], ["photography", "hiking"], "NYC"),
    person("sofia.rossi", "Sofia Rossi", "Engineering", "America/New_York", "early",
           [("agile", 4), ("sql", 5)],
           [("stakeholder management", "get buy-in from finance for tooling spend", 3)], ["climbing"], "NYC"),
    person("omar.haddad", "Omar Haddad", "Finance", "Europe/London", "senior",
           [("stakeholder management", 5), ("budgeting", 4)],
           [("sql", "query the ledger myself instead of waiting for reports", 3)], ["climbing", "chess"], "London"),
    person("neha.iyer", "Neha Iyer", "People", "Asia/Kolkata", "mid",
           [("diversity and inclusion", 5), ("coaching", 4)],
           [("product management", "write a product brief for our HR tools", 2)], ["yoga"], "Bengaluru"),
    person("ethan.brooks", "Ethan Brooks", "Marketing", "America/New_York", "senior",
           [("product management", 5), ("public speaking", 3)],
           [("inclusive leadership", "make my team rituals inclusive across time zones", 3)], ["yoga", "jazz"],
           "NYC"),
]
