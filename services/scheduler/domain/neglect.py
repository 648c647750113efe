"""A one-sided partnership: the neglected direction is taught next."""

from collections.abc import Sequence
from datetime import datetime

from services.scheduler.domain.model import as_utc
from shared.contract.events import Session


def session_to_swap(sessions: Sequence[Session], teacher: str, learner: str, *, now: datetime) -> Session | None:
    """The first teaching session still ahead (not the kickoff, not started) that does not already go
    teacher -> learner. When the next one already does, that is the one after it, so the neglected
    direction gets one more session; None when every session ahead already goes that way."""
    now = as_utc(now)
    ahead = sorted((s for s in sessions if s.kind == "teaching" and s.starts_at > now), key=lambda s: s.number)
    return next((s for s in ahead if (s.teacher, s.learner) != (teacher, learner)), None)


def neglected_direction_first(sessions: Sequence[Session], teacher: str, learner: str, agenda: Sequence[str], *,
                              now: datetime) -> list[Session]:
    """The sessions with `session_to_swap` turned to teacher -> learner and given `agenda`; its id,
    number, time and mode stay. Unchanged (equal) sessions when there is nothing to swap."""
    swapped = session_to_swap(sessions, teacher, learner, now=now)
    return [s.model_copy(update={"teacher": teacher, "learner": learner, "agenda": list(agenda)})
            if swapped is not None and s.session_id == swapped.session_id else s for s in sessions]
