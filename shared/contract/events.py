"""One model per topic (SPEC §3). Field descriptions and examples feed the JSON Schemas and AsyncAPI."""

from datetime import datetime, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.contract import limits as L
from shared.contract.envelope import Event
from shared.contract.profile import (
    DEFAULT_CHANNELS,
    DEFAULT_MEETING_MODES,
    CareerStage,
    Channel,
    MeetingMode,
    OfferContent,
    ProfileContent,
    ProfileSubmission,
    WantContent,
    Weekday,
    WindowContent,
)

CrossDepartment = Literal["required", "preferred", "any"]
Cadence = Literal["weekly", "biweekly", "monthly"]
Id = Annotated[str, Field(min_length=1, max_length=L.ID_MAX)]
SkillName = Annotated[str, Field(max_length=L.SKILL_MAX)]

DEFAULT_GROUND_RULES = [
    "What we share stays between us (confidentiality).",
    "We keep a positive, curious tone; no question is too basic.",
    "We agree how we use our time: start on time, end with a next step.",
]


class Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- programs ---------------------------------------------------------------------------------


class PriorityWeights(Part):
    """How much a want of each priority (1 to 3) counts in how well a partner's offers cover a person's
    wants. By default a priority-3 want counts three times a priority-1 want; equal weights make every
    want count the same. Each is from 0.1 to 10."""

    priority_1: float = Field(default=1.0, ge=0.1, le=10)
    priority_2: float = Field(default=2.0, ge=0.1, le=10)
    priority_3: float = Field(default=3.0, ge=0.1, le=10)


class BonusWeights(Part):
    """Multipliers of the four score bonuses (on top of the two-way value of a pair): 1 is the default
    weight, 0 turns a bonus off, up to 3 makes it count three times as much."""

    cross_department: float = Field(default=1.0, ge=0, le=3, description="Partners from different departments.")
    career_stage: float = Field(default=1.0, ge=0, le=3, description="Partners far apart in career stage.")
    shared_interests: float = Field(default=1.0, ge=0, le=3, description="Interests the partners share.")
    overlap: float = Field(default=1.0, ge=0, le=3, description="Weekly time the partners both have free.")


class ProgramConfigured(Event):
    """An admin tool created or changed a mentoring program."""

    key_field: ClassVar[str] = "program_id"
    event_type: Literal["programs.configured"] = "programs.configured"
    program_id: Id = Field(examples=["prog-2027-reverse"])
    name: str = Field(min_length=1, max_length=L.NAME_MAX, examples=["Reverse mentoring 2027"])
    cross_department: CrossDepartment = "preferred"
    session_minutes: int = Field(default=60, ge=15, le=240)
    cadence: Cadence = "biweekly"
    duration_weeks: int = Field(default=12, ge=1, le=104)
    proposal_ttl_days: int = Field(default=7, ge=1, le=90)
    matching: Literal["continuous", "cohort"] = Field(
        default="continuous",
        description="continuous: people are proposed as they arrive. cohort: nobody is proposed before "
        "`registration_closes_at` (or a `programs.match-requested`); then the whole-cohort optimiser matches "
        "everyone eligible at once, and later arrivals are matched as in continuous mode.",
    )
    registration_closes_at: AwareDatetime | None = Field(
        default=None, description="cohort matching: when registration closes and the cohort is matched (service "
        "clock). Without it the cohort waits for `programs.match-requested`.",
    )
    objective: Literal["quality", "coverage"] = Field(
        default="quality", description="What a whole-cohort match maximises: quality, the total score of the pairs; "
        "coverage, the number of pairs first (so, with one partner each, the number of people matched) and then "
        "the total score among matchings with that many pairs.",
    )
    approval_required: bool = Field(
        default=False, description="Nothing is proposed without an admin's approval: whole-cohort matches (the "
        "close, or a match request) and the end of each batch window make a preview an admin approves "
        "(`POST /programs/{id}/cohort-previews/{preview_id}/approve`) instead of proposing at once. Nobody is "
        "proposed on arrival; with `batch_window` 0, arrivals wait for an admin's preview.",
    )
    batch_window: timedelta = Field(
        default=timedelta(minutes=3), ge=timedelta(0), le=timedelta(hours=24),
        description="continuous mode (and cohort mode after the close): arrivals, declines, expiries and ended "
        "partnerships within this window (service clock, from the first of them) are matched together by the "
        "optimiser over everyone with a free place, when the window ends; a lone arrival waits at most one window. "
        "0 proposes one by one on arrival. Seconds or an ISO 8601 duration; at most 24 hours.",
        examples=["PT3M", 0],
    )
    starts_on: datetime | None = Field(default=None, description="First day of the program (UTC); default now.")
    ground_rules: list[Annotated[str, Field(max_length=L.GROUND_RULE_MAX)]] = Field(
        default_factory=lambda: list(DEFAULT_GROUND_RULES), max_length=L.GROUND_RULES_MAX
    )
    weights: BonusWeights = Field(default_factory=BonusWeights, description="How much each score bonus counts.")
    priority_weights: PriorityWeights = Field(
        default_factory=PriorityWeights, description="How much a want of each priority counts in a pair's value."
    )
    skill_aliases: dict[SkillName, SkillName] = Field(
        default_factory=dict, max_length=L.SKILL_ALIASES_MAX,
        description="Program-specific extension of the skill taxonomy: alias -> skill.",
    )
    one_sided_min_sessions: int = Field(
        default=4, ge=1, le=100,
        description="A partnership is judged one-sided only after this many held teaching sessions.",
    )
    one_sided_ratio: float = Field(
        default=0.25, ge=0, le=0.5,
        description="A direction with less than this share of the held teaching sessions is neglected "
        "(a direction whose average 'learned' rating is 2 or more points below the other's is too).",
    )
    fizzle_after_missed: int = Field(
        default=3, ge=1, le=52,
        description="A partnership is fizzling after this many consecutive sessions that did not happen.",
    )
    checkin_after_minutes: int = Field(
        default=60, ge=0, le=7 * 24 * 60,
        description="How long after a session ends both partners are asked to check in (checkins.requested).",
    )


class MatchRequested(Event):
    """An admin asked for a whole-cohort optimisation of a program."""

    key_field: ClassVar[str] = "program_id"
    event_type: Literal["programs.match-requested"] = "programs.match-requested"
    program_id: Id
    preview: bool = Field(
        default=False, description="Only preview: the matcher answers `programs.match-previewed` and proposes "
        "nothing until `programs.match-approved`. (A program with `approval_required` always previews.)",
    )


class MatchPreviewed(Event):
    """A whole-cohort match was previewed: nothing was proposed. The full preview (pairs, explanations,
    reasons for the unmatched, department matrix) is at `GET /programs/{id}/cohort-previews/{preview_id}`."""

    key_field: ClassVar[str] = "program_id"
    event_type: Literal["programs.match-previewed"] = "programs.match-previewed"
    program_id: Id
    preview_id: Id
    mode: str = Field(description="exact or fast")
    objective: float
    upper_bound: float | None = Field(default=None, description="The LP bound, in fast mode.")
    coverage: float = Field(ge=0, le=1)
    pairs: int = Field(ge=0)
    unmatched: int = Field(ge=0)


class MatchApproved(Event):
    """An admin approved a preview: exactly its pairs are to be proposed."""

    key_field: ClassVar[str] = "program_id"
    event_type: Literal["programs.match-approved"] = "programs.match-approved"
    program_id: Id
    preview_id: Id


class MatchApprovalRefused(Event):
    """An approval could not be carried out (an unknown preview, or the pool changed since it): nothing
    was proposed."""

    key_field: ClassVar[str] = "program_id"
    event_type: Literal["programs.match-approval-refused"] = "programs.match-approval-refused"
    program_id: Id
    preview_id: Id
    reason: str = Field(max_length=L.REASON_MAX)


# --- profiles ---------------------------------------------------------------------------------


class Offer(Part):
    skill: str = Field(examples=["social media"])
    level: int = Field(default=3, description="1 (basic) to 5 (expert).")
    note: str | None = None


class Want(Part):
    skill: str = Field(examples=["leading a team"])
    goal: str | None = Field(default=None, description="The concrete goal this want serves; required.")
    priority: int = Field(default=2, description="1 (nice to have) to 3 (must have).")


class Window(Part):
    weekday: Weekday
    start: str = Field(examples=["09:00"], description="HH:MM in the person's own time zone.")
    end: str = Field(examples=["12:30"])


class ProfileFields(Part):
    """What a person tells us about themselves, as it travels: shape only. Its content rules and
    limits are `shared.contract.profile.ProfileContent`'s, checked by the profiles service."""

    person_id: str = Field(min_length=1, max_length=128)
    program_ids: list[str] = Field(default_factory=list)
    display_name: str = ""
    email: str = ""
    department: str = ""
    site: str = ""
    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/London.")
    languages: list[str] = Field(default_factory=lambda: ["en"])
    locale: str = "en"
    career_stage: CareerStage = "mid"
    manager_id: str | None = None
    offers: list[Offer] = Field(default_factory=list)
    wants: list[Want] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    meeting_modes: list[MeetingMode] = Field(default_factory=lambda: list(DEFAULT_MEETING_MODES))
    availability: list[Window] = Field(default_factory=list)
    max_partners: int = 1
    channels: list[Channel] = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS), description="Notification channels the person wants."
    )
    webhook_url: str | None = None


class ProfileSubmitted(Event, ProfileFields):
    """A frontend submitted (created or replaced) a person's profile.

    Parsed for its shape only, so that a profile with bad content is answered with
    `profiles.rejected`, not dead-lettered. Its published schema is the whole contract,
    `ProfileSubmission`, limits included."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.submitted"] = "profiles.submitted"

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(ProfileSubmission.__pydantic_core_schema__)


class ProfileWithdrawn(Event):
    """A person left the platform; they get no further proposals or messages."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.withdrawn"] = "profiles.withdrawn"
    person_id: Id
    reason: str | None = Field(default=None, max_length=L.REASON_MAX)


class ErasureRequested(Event):
    """The right to be forgotten: erase everything the platform holds about the person. The profiles
    service erases the profile and answers `profiles.erased`; every service then erases or anonymises
    its part and confirms on `profiles.erasure-confirmed`. Partners keep their history, with the person
    shown as "a former participant"."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.erasure-requested"] = "profiles.erasure-requested"
    person_id: Id


class ProfileErased(Event):
    """The profiles service erased the person's profile: every other service now erases or anonymises
    what it holds about them. Carries nothing but the ids."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.erased"] = "profiles.erased"
    person_id: Id


ErasingService = Literal["profiles", "matcher", "scheduler", "notifier", "progress"]

FORMER_PARTICIPANT = "a former participant"
"""How an erased person is shown in what their partners keep."""


class ErasureConfirmed(Event):
    """One service erased or anonymised everything it held about the person (one per service)."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.erasure-confirmed"] = "profiles.erasure-confirmed"
    person_id: Id
    service: ErasingService
    erased: int = Field(ge=0, description="Records deleted.")
    anonymised: int = Field(ge=0, description="Records kept for a partner's history, with the person's data removed.")


class ProfileChanged(Event, ProfileFields):
    """The accepted, full snapshot of a profile after a change."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.changed"] = "profiles.changed"
    version: int = Field(ge=1)
    changed_fields: list[str] = Field(default_factory=list)
    active: bool = True


class FieldError(Part):
    field: str = Field(max_length=L.ERROR_FIELD_MAX, examples=["availability[0].end"])
    message: str = Field(max_length=L.ERROR_MESSAGE_MAX, examples=["must be after the start (09:00)"])


class ProfileRejected(Event):
    """A submitted profile was well-formed but its content was not acceptable."""

    key_field: ClassVar[str] = "person_id"
    event_type: Literal["profiles.rejected"] = "profiles.rejected"
    person_id: str = Field(max_length=L.ID_MAX)
    rejected_event_id: str = Field(max_length=L.ID_MAX)
    errors: list[FieldError] = Field(max_length=L.REJECTION_ERRORS_MAX)
    display_name: str = Field(
        default="", max_length=L.NAME_MAX, description="Empty when the submitted one broke a limit."
    )
    email: str = Field(default="", max_length=L.EMAIL_MAX, description="Empty when the submitted one broke a limit.")


# --- matches ----------------------------------------------------------------------------------


class Teaching(Part):
    skill: str
    goal: str = Field(description="The learner's goal this skill serves.")


class Factor(Part):
    factor: str = Field(examples=["value_a_to_b"])
    value: float


class MatchResponded(Event):
    """A person accepted or declined a proposal."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["matches.responded"] = "matches.responded"
    match_id: Id
    person_id: Id
    decision: Literal["accept", "decline"]
    reason: str | None = Field(default=None, max_length=L.REASON_MAX)


class MatchProposed(Event):
    key_field: ClassVar[str] = "match_id"
    event_type: Literal["matches.proposed"] = "matches.proposed"
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    a_teaches_b: list[Teaching]
    b_teaches_a: list[Teaching]
    score: float
    explanation: list[Factor]
    expires_at: AwareDatetime


class MatchOutcome(Event):
    key_field: ClassVar[str] = "match_id"
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    reason: str = ""
    a_teaches_b: list[Teaching] = Field(default_factory=list)
    b_teaches_a: list[Teaching] = Field(default_factory=list)


class MatchAccepted(MatchOutcome):
    event_type: Literal["matches.accepted"] = "matches.accepted"


class MatchDeclined(MatchOutcome):
    event_type: Literal["matches.declined"] = "matches.declined"


class MatchWithdrawn(MatchOutcome):
    """A pending proposal was withdrawn (expired, no longer eligible), or an accepted partnership ended."""

    event_type: Literal["matches.withdrawn"] = "matches.withdrawn"
    partnership_ended: bool = Field(
        default=False, description="True when the pair had accepted: a running partnership ended, not a proposal."
    )
    erased_person_id: str | None = Field(
        default=None, description="Set when this person's erasure ended the match: whoever keeps the pair's "
        "history forgets their name first, so nothing published about the end names them.",
    )


# --- schedules --------------------------------------------------------------------------------


class LocalTime(Part):
    person_id: str
    timezone: str
    starts_at: str = Field(
        description="Local wall-clock time, ISO 8601 with offset.", examples=["2027-01-12T09:30:00-05:00"]
    )
    ends_at: str


class Session(Part):
    session_id: str
    number: int = Field(ge=1)
    kind: Literal["kickoff", "teaching"]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    mode: MeetingMode
    teacher: str | None = Field(default=None, description="None for the kickoff, where both lead.")
    learner: str | None = None
    agenda: list[str]
    local_times: list[LocalTime]
    flagged: str | None = Field(
        default=None,
        description="Set when this occurrence falls outside at least one person's window (no shared slot that "
        "week): says whose and why.",
    )


class ScheduleFields(Part):
    schedule_id: str
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    sessions: list[Session]
    version: int = Field(ge=1)


class ScheduleCreated(Event, ScheduleFields):
    key_field: ClassVar[str] = "match_id"
    event_type: Literal["schedules.created"] = "schedules.created"


class ScheduleUpdated(Event, ScheduleFields):
    key_field: ClassVar[str] = "match_id"
    event_type: Literal["schedules.updated"] = "schedules.updated"
    cancelled: bool = Field(default=False, description="True when the series was withdrawn.")


class ScheduleUnschedulable(Event):
    key_field: ClassVar[str] = "match_id"
    event_type: Literal["schedules.unschedulable"] = "schedules.unschedulable"
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    reason: str
    suggestion: str


class SessionUpcoming(Event):
    key_field: ClassVar[str] = "match_id"
    event_type: Literal["sessions.upcoming"] = "sessions.upcoming"
    session_id: str
    match_id: str
    person_a: str
    person_b: str
    starts_at: AwareDatetime
    hours_before: int = 24


# --- notifications ----------------------------------------------------------------------------


class NotificationFields(Part):
    notification_id: str
    person_id: str
    channel: Channel
    cause_event_id: str


class NotificationSent(Event, NotificationFields):
    key_field: ClassVar[str] = "person_id"
    event_type: Literal["notifications.sent"] = "notifications.sent"


class NotificationFailed(Event, NotificationFields):
    key_field: ClassVar[str] = "person_id"
    event_type: Literal["notifications.failed"] = "notifications.failed"
    error: str


# --- the relationship loop: check-ins, balance, flags, ends -----------------------------------

Happened = Literal["yes", "no", "moved"]
Rating = Annotated[int, Field(ge=1, le=5)]
FlagKind = Literal["one_sided", "fizzling"]
EndReason = Literal["not_a_fit", "schedule", "left", "goals_met"]
PrivateNote = Annotated[
    str, Field(max_length=L.CHECKIN_NOTE_MAX, description="Private: never shown to the partner, never logged.")
]
GoalText = Annotated[str, Field(max_length=L.GOAL_MAX)]


class SessionCheckedIn(Event):
    """A partner said whether a session happened, how much they learned and how much they helped.

    A later check-in by the same person for the same session replaces the earlier one."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["sessions.checked-in"] = "sessions.checked-in"
    match_id: Id = Field(examples=["m-3f2a9c"])
    session_id: Id = Field(examples=["m-3f2a9c-s02"])
    person_id: Id = Field(examples=["ana"])
    happened: Happened = Field(description="`moved`: it did not happen at the planned time.")
    learned: Rating | None = Field(
        default=None, examples=[4], description="1 (nothing) to 5 (a lot); counted only when the session happened."
    )
    helped: Rating | None = Field(
        default=None, examples=[3], description="1 (not at all) to 5 (a lot); counted only when the session happened."
    )
    note: PrivateNote | None = None


class CheckInRejected(Event):
    """A well-formed check-in that cannot be accepted: an unknown session, someone outside the pair,
    or a session that has not started yet. Nothing changed."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["sessions.checkin-rejected"] = "sessions.checkin-rejected"
    rejected_event_id: str = Field(max_length=L.ID_MAX)
    match_id: Id
    session_id: Id
    person_id: Id
    errors: list[FieldError] = Field(max_length=L.REJECTION_ERRORS_MAX)


class CheckInRequested(Event):
    """Ask both partners whether a session happened (for the notifier: one-click check-in links)."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["checkins.requested"] = "checkins.requested"
    match_id: str
    program_id: str
    session_id: str
    person_a: str
    person_b: str
    teacher: str | None = Field(default=None, description="None for the kickoff, where both lead.")
    learner: str | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class Direction(Part):
    teacher: str
    learner: str


class GoalProgress(Part):
    skill: str
    goal: GoalText
    sessions: int = Field(ge=0, description="Held sessions whose agenda worked on this goal.")


class DirectionBalance(Direction):
    """One direction of a partnership: the teacher teaches the learner."""

    held: int = Field(ge=0, description="Held teaching sessions in this direction.")
    learned_avg: float | None = Field(default=None, description="The learner's average 'learned' rating.")
    learned_ratings: int = Field(default=0, ge=0)
    helped_avg: float | None = Field(default=None, description="The teacher's average self-reported 'helped'.")
    helped_ratings: int = Field(default=0, ge=0)
    goals: list[GoalProgress] = Field(
        default_factory=list,
        max_length=L.AGENDA_GOALS_MAX,
        description="The learner's goals, and how often each was worked on.",
    )


class BalanceFields(Part):
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    status: Literal["active", "ended"]
    sessions_scheduled: int = Field(ge=0, description="Sessions of the partnership's series, cancelled ones left out.")
    sessions_due: int = Field(
        ge=0, description="Sessions whose check-in was requested (after they ended) or that someone checked in to."
    )
    sessions_held: int = Field(ge=0, description="Sessions at least one partner said happened (kickoff included).")
    a_teaches_b: DirectionBalance
    b_teaches_a: DirectionBalance
    share_taught_by_a: float | None = Field(
        default=None, description="person_a's share of the held teaching sessions; None before the first."
    )
    flags: list[FlagKind] = Field(default_factory=list, description="Flags set now.")
    version: int = Field(ge=1, description="Grows with every change of the ledger.")


class BalanceChanged(Event, BalanceFields):
    """The learning-balance ledger of a partnership, published whenever it changes."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["partnerships.balance-changed"] = "partnerships.balance-changed"


class PartnershipFlagged(Event):
    """A partnership became one-sided or started fizzling (published once per onset)."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["partnerships.flagged"] = "partnerships.flagged"
    match_id: str
    program_id: str
    person_a: str
    person_b: str
    kind: FlagKind
    reason: str = Field(examples=["bert has taught 1 of the 5 sessions held (20%, under the program's 25%)"])
    neglected: Direction | None = Field(
        default=None, description="one_sided only: the direction to teach next (its teacher teaches its learner)."
    )
    neglected_goals: list[GoalText] = Field(
        default_factory=list,
        max_length=L.AGENDA_GOALS_MAX,
        description="one_sided only: the neglected learner's goals to work on next.",
    )


class EndRequested(Event):
    """A partner asked to end the partnership (consumed by the matcher)."""

    key_field: ClassVar[str] = "match_id"
    event_type: Literal["partnerships.end-requested"] = "partnerships.end-requested"
    match_id: Id
    person_id: Id
    reason: EndReason = Field(description="`goals_met` counts as a success.")
    note: PrivateNote | None = None


__all__ = [
    "DEFAULT_GROUND_RULES",
    "FORMER_PARTICIPANT",
    "BalanceChanged",
    "BalanceFields",
    "BonusWeights",
    "Cadence",
    "CareerStage",
    "Channel",
    "CheckInRejected",
    "CheckInRequested",
    "CrossDepartment",
    "Direction",
    "DirectionBalance",
    "EndReason",
    "EndRequested",
    "ErasureConfirmed",
    "ErasureRequested",
    "Factor",
    "FieldError",
    "FlagKind",
    "GoalProgress",
    "Happened",
    "LocalTime",
    "MatchAccepted",
    "MatchApprovalRefused",
    "MatchApproved",
    "MatchDeclined",
    "MatchOutcome",
    "MatchPreviewed",
    "MatchProposed",
    "MatchRequested",
    "MatchResponded",
    "MatchWithdrawn",
    "MeetingMode",
    "NotificationFailed",
    "NotificationFields",
    "NotificationSent",
    "Offer",
    "OfferContent",
    "PartnershipFlagged",
    "PriorityWeights",
    "ProfileChanged",
    "ProfileContent",
    "ProfileErased",
    "ProfileFields",
    "ProfileRejected",
    "ProfileSubmission",
    "ProfileSubmitted",
    "ProfileWithdrawn",
    "ProgramConfigured",
    "ScheduleCreated",
    "ScheduleFields",
    "ScheduleUnschedulable",
    "ScheduleUpdated",
    "Session",
    "SessionCheckedIn",
    "SessionUpcoming",
    "Teaching",
    "Want",
    "WantContent",
    "Weekday",
    "Window",
    "WindowContent",
]
