"""Read models of the progress service's own data for the web console: every partnership's learning
balance with its current flags (a program's, for admins) and a person's own check-ins."""

from typing import Any

from services.progress.adapters.repository import ProgressRepository, partnership_from_doc
from services.progress.domain import Partnership, ledger
from shared.store import find_in


def partnership_view(p: Partnership, *, checkins_of: str | None = None) -> dict[str, Any]:
    """The ledger, the flags set now (with their reasons), begin and end; with `checkins_of`, that
    person's own check-ins (their private notes included: they are theirs)."""
    view: dict[str, Any] = {
        **ledger(p).model_dump(mode="json"),
        "began_at": p.began_at.isoformat(),
        "ended_at": p.ended_at.isoformat() if p.ended_at else None,
        "end_reason": p.end_reason,
        "flag_details": [{"kind": f.kind, "reason": f.reason, "raised_at": f.raised_at.isoformat(),
                          "neglected": list(f.neglected) if f.neglected else None}
                         for f in p.flags.values()],
    }
    if checkins_of is not None:
        view["checkins"] = sorted(
            ({"session_id": c.session_id, "happened": c.happened, "learned": c.learned, "helped": c.helped,
              "note": c.note, "at": c.at.isoformat() if c.at else None}
             for c in p.checkins.values() if c.person_id == checkins_of),
            key=lambda c: c["session_id"])
        view["checked_in_sessions"] = sorted({c.session_id for c in p.checkins.values() if c.person_id == checkins_of})
    return view


async def partnerships_by_match(repo: ProgressRepository, org_id: str, program_id: str,
                                match_ids: list[str]) -> list[dict[str, Any]]:
    """The views of these matches' partnerships in the program: a bounded read by the unique
    (org_id, match_id) index (the program is checked here: a further field would defeat the index)."""
    docs = await find_in(repo.partnerships, {"org_id": org_id}, "match_id", match_ids)
    return sorted((partnership_view(partnership_from_doc(d)) for d in docs if d.get("program_id") == program_id),
                  key=lambda v: v["match_id"])
