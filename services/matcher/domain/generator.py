"""A seeded, realistic enterprise cohort: departments, sites and time zones, career stages, skills
from the taxonomy with Zipf-like popularity (seniors tend to offer leadership skills, juniors
digital ones), goals on every want, availability in office hours, managers inside departments."""

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.matcher.domain.taxonomy import SKILLS
from shared.contract.events import ProfileChanged, ProgramConfigured

DEPARTMENTS = (("engineering", 22), ("sales", 16), ("operations", 12), ("marketing", 9), ("finance", 8),
               ("customer success", 8), ("product", 7), ("hr", 5), ("data", 5), ("legal", 3), ("strategy", 2),
               ("it", 3))  # fmt: skip
SITES = (("london", "Europe/London", "en", 20), ("new york", "America/New_York", "en", 18),
         ("san francisco", "America/Los_Angeles", "en", 10), ("berlin", "Europe/Berlin", "de", 9),
         ("bangalore", "Asia/Kolkata", "en", 12), ("singapore", "Asia/Singapore", "en", 6),
         ("sydney", "Australia/Sydney", "en", 5), ("sao paulo", "America/Sao_Paulo", "pt", 5),
         ("toronto", "America/Toronto", "en", 5), ("paris", "Europe/Paris", "fr", 6),
         ("remote", "Europe/Lisbon", "pt", 4))  # fmt: skip
STAGES = (("early", 35), ("mid", 35), ("senior", 22), ("executive", 8))
SENIOR_SKILLS = ("leadership", "people management", "strategy", "decision making", "stakeholder management",
                 "negotiation", "executive presence", "coaching", "change management", "finance",
                 "public speaking", "feedback", "conflict resolution", "career development", "risk management")
JUNIOR_SKILLS = ("social media", "artificial intelligence", "digital literacy", "content creation", "python",
                 "data analysis", "automation", "gen z perspectives", "data visualisation", "remote work",
                 "personal branding", "ux design", "sql", "machine learning", "diversity and inclusion")
INTERESTS = ("running", "hiking", "cooking", "jazz", "football", "chess", "photography", "reading", "gaming",
             "gardening", "cycling", "yoga", "travel", "film", "podcasts", "volunteering", "music", "climbing",
             "baking", "board games", "tennis", "art", "languages", "swimming", "theatre")  # fmt: skip
GOALS = ("use {s} in my next project", "get confident with {s}", "coach my team on {s}",
         "understand {s} well enough to make decisions", "build a {s} plan for this quarter")
# (weekday, start, end) office-hour blocks people pick from, local time
BLOCKS = tuple((d, s, e) for d in ("mon", "tue", "wed", "thu", "fri")
               for s, e in (("08:30", "10:00"), ("10:00", "12:00"), ("13:00", "14:30"), ("15:00", "17:00")))


def _zipf_weights(n: int, exponent: float = 1.0) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(n)]


Weighted = TypeVar("Weighted", bound=tuple[Any, ...])  # a choice whose last field is its weight


def _pick(rng: random.Random, weighted: Sequence[Weighted]) -> Weighted:
    return rng.choices(weighted, weights=[w[-1] for w in weighted])[0]


def _skills(rng: random.Random, stage: str, k: int, offering: bool, base: list[str], weights: list[float]) -> list[str]:
    senior = stage in ("senior", "executive")
    tilt = SENIOR_SKILLS if senior == offering else JUNIOR_SKILLS
    chosen: list[str] = []
    while len(chosen) < k:
        skill = rng.choice(tilt) if rng.random() < 0.55 else rng.choices(base, weights=weights)[0]
        if skill not in chosen:
            chosen.append(skill)
    return chosen


def generate_program(program_id: str = "p1", org_id: str = "acme", **fields: Any) -> ProgramConfigured:
    values: dict[str, Any] = dict(name="Reciprocal mentoring", cross_department="preferred", session_minutes=60,
                  duration_weeks=12, starts_on=datetime(2027, 1, 11, tzinfo=UTC))
    values.update(fields)
    return ProgramConfigured(org_id=org_id, program_id=program_id, **values)


def generate_cohort(n: int, seed: int, org_id: str = "acme", program_id: str = "p1") -> list[ProfileChanged]:
    rng = random.Random(seed)
    skills = list(SKILLS)
    rng.shuffle(skills)
    weights = _zipf_weights(len(skills))
    templates = [tuple(sorted(rng.sample(BLOCKS, rng.randint(2, 5)))) for _ in range(40)]
    managers: dict[str, list[str]] = {}
    out: list[ProfileChanged] = []
    for i in range(n):
        person_id = f"u{i:06d}"
        department = _pick(rng, DEPARTMENTS)[0]
        site, tz, local_language, _ = _pick(rng, SITES)
        stage = _pick(rng, STAGES)[0]
        offers = _skills(rng, stage, rng.randint(2, 4), True, skills, weights)
        wants = _skills(rng, stage, rng.randint(1, 3), False, [s for s in skills if s not in offers],
                        [w for s, w in zip(skills, weights, strict=True) if s not in offers])
        languages = ["en"] if rng.random() < 0.93 else [local_language]
        if local_language != "en" and rng.random() < 0.6:
            languages = sorted({*languages, local_language})
        modes = {"video"} if rng.random() < 0.9 else {"phone"}
        if site != "remote" and rng.random() < 0.45:
            modes.add("in_person")
        if rng.random() < 0.2:
            modes.add("chat")
        boss_pool = managers.get(department, [])
        manager_id = rng.choice(boss_pool) if boss_pool and stage in ("early", "mid") and rng.random() < 0.7 else None
        if stage in ("senior", "executive"):
            managers.setdefault(department, []).append(person_id)
        out.append(ProfileChanged(
            org_id=org_id, person_id=person_id, version=1, program_ids=[program_id],
            display_name=f"Person {i}", email=f"{person_id}@{org_id}.example", department=department, site=site,
            timezone=tz, languages=languages, career_stage=stage, manager_id=manager_id,
            offers=[{"skill": s, "level": rng.choices((2, 3, 4, 5), weights=(1, 3, 4, 2))[0]} for s in offers],
            wants=[{"skill": s, "goal": rng.choice(GOALS).format(s=s), "priority": rng.choice((1, 2, 2, 3))}
                   for s in wants],
            interests=rng.sample(INTERESTS, rng.randint(1, 4)), meeting_modes=sorted(modes),
            availability=[{"weekday": d, "start": s, "end": e} for d, s, e in rng.choice(templates)],
            max_partners=rng.choices((1, 2, 3), weights=(70, 25, 5))[0],
        ))  # fmt: skip
    return out
