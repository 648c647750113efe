"""The rules that flag a partnership: one-sided (one direction neglected) and fizzling (not meeting)."""

from typing import TYPE_CHECKING

from services.progress.domain.balance import direction_balance
from services.progress.domain.records import RATING_GAP, Finding, Thresholds
from shared.contract.events import DirectionBalance

if TYPE_CHECKING:
    from services.progress.domain.partnership import Partnership


def findings(p: "Partnership", thresholds: Thresholds) -> dict[str, Finding]:
    found = [one_sided(p, thresholds), fizzling(p, thresholds)]
    return {f.kind: f for f in found if f is not None}


def one_sided(p: "Partnership", t: Thresholds) -> Finding | None:
    """Judged once `one_sided_min_sessions` teaching sessions were held: a direction with less than
    `one_sided_ratio` of them, or whose learner rates learning RATING_GAP points below the other
    learner, is neglected. The finding names who should teach next and the goals to work on."""
    ab = direction_balance(p, p.person_a, p.person_b)
    ba = direction_balance(p, p.person_b, p.person_a)
    total = ab.held + ba.held
    if total < t.one_sided_min_sessions:
        return None
    for d in (ab, ba):
        if d.held / total < t.one_sided_ratio:
            reason = (f"{d.teacher} has taught {d.held} of the {total} sessions held ({d.held / total:.0%}, under "
                      f"the program's {t.one_sided_ratio:.0%}): {d.learner} is learning less than {d.teacher}")
            return Finding("one_sided", reason, (d.teacher, d.learner), neglected_goals(d))
    if ab.learned_avg is not None and ba.learned_avg is not None:
        low, high = sorted((ab, ba), key=lambda d: d.learned_avg or 0)
        gap = (high.learned_avg or 0) - (low.learned_avg or 0)
        if gap >= RATING_GAP:
            reason = (f"{low.learner} rates what they learn at {low.learned_avg:.1f} of 5 on average, "
                      f"{gap:.1f} points below {high.learner}'s {high.learned_avg:.1f}")
            return Finding("one_sided", reason, (low.teacher, low.learner), neglected_goals(low))
    return None


def neglected_goals(d: DirectionBalance) -> tuple[str, ...]:
    """The learner's goals no held session has worked on; all of them if every one was."""
    untouched = [g.goal for g in d.goals if g.sessions == 0]
    return tuple(untouched or (g.goal for g in d.goals))


def fizzling(p: "Partnership", t: Thresholds) -> Finding | None:
    """`fizzle_after_missed` due sessions in a row, counted back from the latest, that nobody says
    happened. A session counts as missed when a partner said it did not happen (`no` / `moved`),
    or when nobody answered and a later session is due as well; the latest session, while nobody
    has answered yet, is not judged."""
    due = [s for s in sorted(p.sessions.values(), key=lambda s: s.number) if s.due]
    missed = 0
    for position in range(len(due) - 1, -1, -1):
        session = due[position]
        if p.held(session.session_id):
            break
        if p.checkins_of(session.session_id) or position < len(due) - 1:
            missed += 1
    if missed < t.fizzle_after_missed:
        return None
    return Finding("fizzling", f"none of the last {missed} sessions happened (nobody said it did); the program "
                               f"flags a partnership after {t.fizzle_after_missed}")
