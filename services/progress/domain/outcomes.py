"""Program outcomes: are both partners learning, do pairs meet, how balanced, how they end."""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from statistics import median
from typing import Any

from services.progress.domain.balance import ledger
from services.progress.domain.partnership import Partnership
from services.progress.domain.records import BOTH_LEARNING_MIN, PERSISTENT_AFTER_SESSIONS, PartnershipStatus

SUCCESS_REASONS = frozenset({"goals_met"})
BALANCE_BUCKETS = 5
"""The histogram of person_a's share of teaching has this many equal buckets from 0% to 100%."""


def both_learning(p: Partnership) -> bool:
    book = ledger(p)
    averages = (book.a_teaches_b.learned_avg, book.b_teaches_a.learned_avg)
    return all(avg is not None and avg >= BOTH_LEARNING_MIN for avg in averages)


def balance_histogram(shares: Sequence[float]) -> list[dict[str, Any]]:
    counts = [0] * BALANCE_BUCKETS
    for share in shares:
        counts[min(int(share * BALANCE_BUCKETS), BALANCE_BUCKETS - 1)] += 1
    width = 100 // BALANCE_BUCKETS
    return [{"share_taught_by_a": f"{i * width}-{(i + 1) * width}%", "partnerships": n} for i, n in enumerate(counts)]


def rematches(partnerships: Sequence[Partnership]) -> dict[str, Any]:
    """For each person whose partnership ended: the time to their next accepted match, if any."""
    waits: list[float] = []
    waiting = 0
    for ended in (p for p in partnerships if p.ended_at is not None):
        for person in ended.people:
            later = [q.began_at for q in partnerships
                     if q is not ended and person in q.people and q.began_at >= ended.ended_at]  # type: ignore[operator]
            if later:
                waits.append((min(later) - ended.ended_at).total_seconds() / 3600)  # type: ignore[operator]
            else:
                waiting += 1
    return {"rematched": len(waits), "waiting": waiting,
            "median_hours_to_rematch": round(median(waits), 2) if waits else None}


def program_outcomes(program_id: str, partnerships: Sequence[Partnership]) -> dict[str, Any]:
    books = [ledger(p) for p in partnerships]
    started = [p for p, book in zip(partnerships, books, strict=True) if book.sessions_held]
    learning = [p for p in started if both_learning(p)]
    due = sum(book.sessions_due for book in books)
    held = sum(book.sessions_held for book in books)
    ends = Counter(p.end_reason or "unknown" for p in partnerships if p.status is PartnershipStatus.ENDED)
    return {
        "program_id": program_id,
        "partnerships": len(partnerships),
        "active": sum(1 for p in partnerships if p.status is PartnershipStatus.ACTIVE),
        "with_sessions_held": len(started),
        "both_learning": len(learning),
        "both_learning_share": round(len(learning) / len(started), 4) if started else None,
        "sessions_due": due,
        "sessions_held": held,
        "held_session_rate": round(held / due, 4) if due else None,
        "balance_histogram": balance_histogram([b.share_taught_by_a for b in books if b.share_taught_by_a is not None]),
        "ended": sum(ends.values()),
        "ended_by_reason": dict(sorted(ends.items())),
        "ended_successfully": sum(n for reason, n in ends.items() if reason in SUCCESS_REASONS),
        "rematch": rematches(partnerships),
    }


def persistent_flags(partnerships: Sequence[Partnership], now: datetime) -> list[dict[str, Any]]:
    """Flags still set PERSISTENT_AFTER_SESSIONS sessions after their onset: the admins' list."""
    listed = []
    for p in partnerships:
        for flag in p.flags.values():
            since = p.sessions_due - flag.due_at_onset
            if since >= PERSISTENT_AFTER_SESSIONS:
                listed.append({
                    "match_id": p.match_id, "person_a": p.person_a, "person_b": p.person_b, "kind": flag.kind,
                    "reason": flag.reason, "raised_at": flag.raised_at.isoformat(), "sessions_since": since,
                    "days_since": (now - flag.raised_at).days,
                    "neglected": (
                        {"teacher": flag.neglected[0], "learner": flag.neglected[1]} if flag.neglected else None
                    ),
                    "neglected_goals": list(flag.neglected_goals),
                })
    return sorted(listed, key=lambda f: (f["raised_at"], f["match_id"], f["kind"]))
