"""Builders for progress tests: a partnership of ana and ben with hand-made sessions."""

from datetime import UTC, datetime, timedelta

from services.progress.domain import CheckIn, Goal, Partnership, Thresholds
from shared.contract import Session

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
A, B = "ana", "ben"
ANA_GOALS = [Goal("python", "automate my reports")]           # ben teaches ana
BEN_GOALS = [Goal("leadership", "run my first team meeting"), Goal("feedback", "give hard feedback")]
DEFAULTS = Thresholds()


def session(number: int, teacher: str | None, learner: str | None, *, days_ago: float = 0, goal: str = "",
            match_id: str = "m1") -> Session:
    starts = NOW - timedelta(days=days_ago)
    kind = "teaching" if teacher else "kickoff"
    agenda = [f"{teacher} helps {learner}", f"Goal: {goal}"] if teacher else ["Ground rules", "Both goals"]
    return Session(session_id=f"{match_id}-s{number:02d}", number=number, kind=kind, starts_at=starts,
                   ends_at=starts + timedelta(hours=1), mode="video", teacher=teacher, learner=learner,
                   agenda=agenda, local_times=[])


def series(*directions: tuple[str, str] | None, first_days_ago: float = 30, every_days: float = 2) -> list[Session]:
    """Sessions 1..n in the past, one per direction given (None: the kickoff)."""
    out = []
    for i, d in enumerate(directions, start=1):
        teacher, learner = d if d else (None, None)
        goal = (BEN_GOALS[0].goal if learner == B else ANA_GOALS[0].goal) if d else ""
        out.append(session(i, teacher, learner, days_ago=first_days_ago - (i - 1) * every_days, goal=goal))
    return out


def partnership(sessions: list[Session] | None = None, thresholds: Thresholds = DEFAULTS) -> Partnership:
    p = Partnership.begin("acme", "m1", "pilot", A, B, began_at=NOW - timedelta(days=40), correlation_id="c1")
    p.learn_goals(ANA_GOALS, BEN_GOALS, began_at=NOW - timedelta(days=40), thresholds=thresholds, now=NOW)
    if sessions:
        p.schedule(sessions, version=1, cancelled=False, thresholds=thresholds, now=NOW)
    return p


def check(p: Partnership, number: int, person: str, happened: str = "yes", learned: int | None = None,
          helped: int | None = None, thresholds: Thresholds = DEFAULTS, note: str | None = None) -> list:
    return p.check_in(CheckIn(f"m1-s{number:02d}", person, happened, learned, helped, note),
                      thresholds=thresholds, now=NOW)


def kinds(events: list) -> list[str]:
    return [e.event_type for e in events]
