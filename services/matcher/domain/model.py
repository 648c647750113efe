"""The matcher's own view of people and programs: immutable, normalised, storable as plain dicts."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.matcher.domain.taxonomy import clean, normalise_skill
from shared.contract.events import ProfileChanged, ProgramConfigured

STAGES: tuple[str, ...] = ("early", "mid", "senior", "executive")
MODES: tuple[str, ...] = ("in_person", "video", "phone", "chat")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Person:
    person_id: str
    org_id: str
    program_ids: tuple[str, ...] = ()
    department: str = ""
    site: str = ""
    timezone: str = "UTC"
    languages: frozenset[str] = frozenset({"en"})
    career_stage: str = "mid"
    manager_id: str | None = None
    offers: tuple[tuple[str, int], ...] = ()  # (skill, level 1-5), one per skill, sorted by skill
    wants: tuple[tuple[str, str, int], ...] = ()  # (skill, goal, priority 1-3), one per skill, sorted by skill
    interests: frozenset[str] = frozenset()
    meeting_modes: frozenset[str] = frozenset({"video"})
    availability: tuple[tuple[str, str, str], ...] = ()  # (weekday, "HH:MM", "HH:MM"), local time
    max_partners: int = 1
    active: bool = True
    display_name: str = ""

    @property
    def offer_levels(self) -> dict[str, int]:
        return dict(self.offers)

    @property
    def stage_index(self) -> int:
        return STAGES.index(self.career_stage) if self.career_stage in STAGES else 1

    def to_doc(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "org_id": self.org_id,
            "program_ids": list(self.program_ids),
            "department": self.department,
            "site": self.site,
            "timezone": self.timezone,
            "languages": sorted(self.languages),
            "career_stage": self.career_stage,
            "manager_id": self.manager_id,
            "offers": [{"skill": s, "level": lv} for s, lv in self.offers],
            "wants": [{"skill": s, "goal": g, "priority": p} for s, g, p in self.wants],
            "interests": sorted(self.interests),
            "meeting_modes": sorted(self.meeting_modes),
            "availability": [{"weekday": d, "start": s, "end": e} for d, s, e in self.availability],
            "max_partners": self.max_partners,
            "active": self.active,
            "display_name": self.display_name,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Person":
        return cls(
            person_id=doc["person_id"],
            org_id=doc["org_id"],
            program_ids=tuple(doc.get("program_ids", ())),
            department=doc.get("department", ""),
            site=doc.get("site", ""),
            timezone=doc.get("timezone", "UTC"),
            languages=frozenset(doc.get("languages", ("en",))),
            career_stage=doc.get("career_stage", "mid"),
            manager_id=doc.get("manager_id"),
            offers=tuple((o["skill"], int(o["level"])) for o in doc.get("offers", ())),
            wants=tuple((w["skill"], w["goal"], int(w["priority"])) for w in doc.get("wants", ())),
            interests=frozenset(doc.get("interests", ())),
            meeting_modes=frozenset(doc.get("meeting_modes", ("video",))),
            availability=tuple((w["weekday"], w["start"], w["end"]) for w in doc.get("availability", ())),
            max_partners=int(doc.get("max_partners", 1)),
            active=bool(doc.get("active", True)),
            display_name=doc.get("display_name", ""),
        )


@dataclass(frozen=True)
class Program:
    program_id: str
    org_id: str
    cross_department: str = "preferred"
    session_minutes: int = 60
    duration_weeks: int = 12
    proposal_ttl_days: int = 7
    starts_on: datetime | None = None
    skill_aliases: dict[str, str] = field(default_factory=dict, hash=False)
    matching: str = "continuous"
    registration_closes_at: datetime | None = None
    approval_required: bool = False
    objective: str = "quality"
    """quality: the highest total score; coverage: the most people matched, then the highest score."""
    bonus_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    """Multipliers of the cross-department, career-stage, shared-interests and overlap bonuses."""
    priority_weights: tuple[float, float, float] = (1.0, 2.0, 3.0)
    """How much a want of priority 1, 2 and 3 counts in a pair's value."""
    batch_window_s: float = 0.0
    """Arrivals within this window are matched together by the optimiser; 0 proposes one by one. A
    program saved before windows existed has none, so it keeps proposing one by one."""
    cohort_matched_at: datetime | None = None
    """When the cohort was matched as a whole (cohort mode); kept across reconfigurations."""

    @property
    def awaits_cohort_match(self) -> bool:
        """A cohort program before its whole-cohort match: nobody is proposed before it."""
        return self.matching == "cohort" and self.cohort_matched_at is None

    @property
    def matches_in_batches(self) -> bool:
        """Free places are filled by the optimiser at the end of a batch window, not on arrival."""
        return self.batch_window_s > 0

    def batch_closes(self, due: datetime, last_arrival: datetime | None, now: datetime, quiet_s: float) -> bool:
        """Whether a batch due at `due` runs at `now`. Its window must have ended, and arrivals must have
        paused for `quiet_s` (never longer than the window, so a lone arrival waits one window): an
        import that outlasts the window is matched whole, not split between two batches. One window
        after it was due, the batch runs whatever still arrives, so nobody waits more than two."""
        if now < due:
            return False
        if now >= due + timedelta(seconds=self.batch_window_s) or last_arrival is None:
            return True
        return (now - last_arrival).total_seconds() >= min(quiet_s, self.batch_window_s)

    @property
    def proposes_one_by_one(self) -> bool:
        """Each arrival (and each freed place) is filled on the spot with the best partners free. Never
        in a program that requires approval: there every proposal comes from an approved preview."""
        return not self.awaits_cohort_match and not self.matches_in_batches and not self.approval_required

    def to_doc(self) -> dict[str, Any]:
        """The configuration (`cohort_matched_at` is state, written on its own)."""
        return {
            "program_id": self.program_id,
            "org_id": self.org_id,
            "cross_department": self.cross_department,
            "session_minutes": self.session_minutes,
            "duration_weeks": self.duration_weeks,
            "proposal_ttl_days": self.proposal_ttl_days,
            "starts_on": self.starts_on,
            "skill_aliases": dict(self.skill_aliases),
            "matching": self.matching,
            "registration_closes_at": self.registration_closes_at,
            "approval_required": self.approval_required,
            "objective": self.objective,
            "bonus_weights": list(self.bonus_weights),
            "priority_weights": list(self.priority_weights),
            "batch_window_s": self.batch_window_s,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Program":
        return cls(
            program_id=doc["program_id"],
            org_id=doc["org_id"],
            cross_department=doc.get("cross_department", "preferred"),
            session_minutes=int(doc.get("session_minutes", 60)),
            duration_weeks=int(doc.get("duration_weeks", 12)),
            proposal_ttl_days=int(doc.get("proposal_ttl_days", 7)),
            starts_on=_aware(doc.get("starts_on")),
            skill_aliases=dict(doc.get("skill_aliases") or {}),
            matching=doc.get("matching", "continuous"),
            registration_closes_at=_aware(doc.get("registration_closes_at")),
            approval_required=bool(doc.get("approval_required", False)),
            objective=doc.get("objective", "quality"),
            bonus_weights=_weights(doc.get("bonus_weights")),
            priority_weights=_priority_weights(doc.get("priority_weights")),
            batch_window_s=float(doc.get("batch_window_s", 0.0)),
            cohort_matched_at=_aware(doc.get("cohort_matched_at")),
        )


def _weights(value: Any) -> tuple[float, float, float, float]:
    if not value or len(value) != 4:
        return (1.0, 1.0, 1.0, 1.0)
    a, b, c, d = (float(x) for x in value)
    return (a, b, c, d)


def _priority_weights(value: Any) -> tuple[float, float, float]:
    if not value or len(value) != 3:
        return (1.0, 2.0, 3.0)
    low, medium, high = (float(x) for x in value)
    return (low, medium, high)


def _aware(value: datetime | str | None) -> datetime | None:
    """BSON datetimes come back naive (UTC); JSON ones as strings."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def person_from_profile(event: ProfileChanged, aliases: Mapping[str, str] | None = None) -> Person:
    """Normalise a profile snapshot: canonical skills (one entry per skill, strongest level and
    priority kept), lowercase languages and interests."""
    extra = aliases or {}
    levels: dict[str, int] = {}
    for offer in event.offers:
        skill = normalise_skill(offer.skill, extra)
        if skill:
            levels[skill] = max(levels.get(skill, 0), min(max(int(offer.level), 1), 5))
    wants: dict[str, tuple[str, int]] = {}
    for want in event.wants:
        skill = normalise_skill(want.skill, extra)
        if not skill:
            continue
        goal = (want.goal or "").strip() or skill
        priority = min(max(int(want.priority), 1), 3)
        if skill in wants:
            old_goal, old_priority = wants[skill]
            goal = old_goal if old_priority >= priority else goal
            priority = max(old_priority, priority)
        wants[skill] = (goal, priority)
    return Person(
        person_id=event.person_id,
        org_id=event.org_id,
        program_ids=tuple(event.program_ids),
        department=event.department.strip(),
        site=event.site.strip(),
        timezone=event.timezone,
        languages=frozenset(lang.strip().casefold() for lang in event.languages if lang.strip()),
        career_stage=event.career_stage,
        manager_id=event.manager_id or None,
        offers=tuple(sorted(levels.items())),
        wants=tuple((s, g, p) for s, (g, p) in sorted(wants.items())),
        interests=frozenset(filter(None, (clean(i) for i in event.interests))),
        meeting_modes=frozenset(event.meeting_modes),
        availability=tuple((w.weekday, w.start, w.end) for w in event.availability),
        max_partners=max(int(event.max_partners), 0),
        active=event.active,
        display_name=event.display_name,
    )


def program_from_event(event: ProgramConfigured) -> Program:
    return Program(
        program_id=event.program_id,
        org_id=event.org_id,
        cross_department=event.cross_department,
        session_minutes=event.session_minutes,
        duration_weeks=event.duration_weeks,
        proposal_ttl_days=event.proposal_ttl_days,
        starts_on=_aware(event.starts_on),
        skill_aliases=dict(event.skill_aliases),
        matching=event.matching,
        registration_closes_at=_aware(event.registration_closes_at),
        approval_required=event.approval_required,
        objective=event.objective,
        bonus_weights=(event.weights.cross_department, event.weights.career_stage, event.weights.shared_interests,
                       event.weights.overlap),
        priority_weights=(event.priority_weights.priority_1, event.priority_weights.priority_2,
                          event.priority_weights.priority_3),
        batch_window_s=event.batch_window.total_seconds(),
    )
