"""The learning-balance ledger: sessions held in each direction, ratings, goals worked on."""

from statistics import fmean
from typing import TYPE_CHECKING

from services.progress.domain.records import Goal, PlannedSession
from shared.contract import limits as L
from shared.contract.events import BalanceFields, DirectionBalance, GoalProgress

if TYPE_CHECKING:
    from services.progress.domain.partnership import Partnership


def worked_on(goal: Goal, session: PlannedSession) -> bool:
    """A session worked on a goal when its agenda names it."""
    needle = goal.goal.casefold()
    return any(needle in item.casefold() for item in session.agenda)


def direction_balance(p: "Partnership", teacher: str, learner: str) -> DirectionBalance:
    """Held teaching sessions where `teacher` taught `learner`; the learner's 'learned' and the
    teacher's 'helped', each counted only from a partner who says the session happened."""
    held = [s for s in p.sessions.values() if s.direction == (teacher, learner) and p.held(s.session_id)]

    def ratings(person: str, attribute: str) -> list[int]:
        answers = (p.checkins.get((s.session_id, person)) for s in held)
        return [getattr(c, attribute) for c in answers
                if c is not None and c.happened == "yes" and getattr(c, attribute) is not None]

    learned, helped = ratings(learner, "learned"), ratings(teacher, "helped")
    goals = [GoalProgress(skill=g.skill, goal=g.goal, sessions=sum(worked_on(g, s) for s in held))
             for g in p.goals_of.get(learner, ())[: L.AGENDA_GOALS_MAX]]
    return DirectionBalance(
        teacher=teacher, learner=learner, held=len(held),
        learned_avg=round(fmean(learned), 2) if learned else None, learned_ratings=len(learned),
        helped_avg=round(fmean(helped), 2) if helped else None, helped_ratings=len(helped), goals=goals,
    )


def ledger(p: "Partnership") -> BalanceFields:
    a_teaches_b = direction_balance(p, p.person_a, p.person_b)
    b_teaches_a = direction_balance(p, p.person_b, p.person_a)
    taught = a_teaches_b.held + b_teaches_a.held
    return BalanceFields(
        match_id=p.match_id, program_id=p.program_id, person_a=p.person_a, person_b=p.person_b,
        status=p.status.value, sessions_scheduled=len(p.sessions), sessions_due=p.sessions_due,
        sessions_held=sum(1 for sid in p.sessions if p.held(sid)),
        a_teaches_b=a_teaches_b, b_teaches_a=b_teaches_a,
        share_taught_by_a=round(a_teaches_b.held / taught, 4) if taught else None,
        flags=sorted(p.flags), version=max(p.balance_version, 1),
    )
