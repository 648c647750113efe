""""My mentoring": a participant's proposals, partners, sessions in their own time zone, check-ins,
learning balance and inbox, from the owning services' answers about that one person."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.console.domain.tables import Column, Table

SESSIONS_SHOWN = 3


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(instant: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(instant).astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def _mine_and_theirs(m: dict[str, Any], me: str) -> dict[str, Any]:
    i_am_a = m["person_a"] == me
    return {
        "match_id": m["match_id"], "status": m["status"],
        "partner_id": m["person_b"] if i_am_a else m["person_a"],
        "partner": m["name_b"] if i_am_a else m["name_a"],
        "partner_department": m["department_b"] if i_am_a else m["department_a"],
        "i_teach": m["a_teaches_b"] if i_am_a else m["b_teaches_a"],
        "i_learn": m["b_teaches_a"] if i_am_a else m["a_teaches_b"],
        "i_accepted": me in (m.get("accepted_by") or []), "expires_at": m.get("expires_at"),
        "reason": m.get("reason"),
    }


def my_mentoring(me: str, profile: dict[str, Any] | None, matches: list[dict[str, Any]],
                 schedules: dict[str, dict[str, Any] | None], partnerships: list[dict[str, Any]],
                 now: datetime) -> dict[str, Any]:
    tz = zone((profile or {}).get("timezone") or "UTC")
    balance_of = {p["match_id"]: p for p in partnerships}
    proposals = [_mine_and_theirs(m, me) for m in matches if m["status"] == "proposed"]
    current = []
    for m in matches:
        if m["status"] != "accepted":
            continue
        view = _mine_and_theirs(m, me)
        schedule = schedules.get(m["match_id"])
        sessions = (schedule or {}).get("sessions") or []
        names = {me: "you", view["partner_id"]: view["partner"]}
        upcoming = [s for s in sessions if datetime.fromisoformat(s["ends_at"]) > now][:SESSIONS_SHOWN]
        book = balance_of.get(m["match_id"])
        done = set((book or {}).get("checked_in_sessions", []))
        started = [s for s in sessions if datetime.fromisoformat(s["starts_at"]) <= now and s["session_id"] not in done]
        view.update({
            "schedule_status": (schedule or {}).get("status", "waiting"),
            "next_sessions": [{"when": local(s["starts_at"], tz), "kind": s["kind"],
                               "who": ("both of you lead (kickoff)" if s["kind"] == "kickoff"
                                       else f"{names.get(s['teacher'], s['teacher'])} teach"
                                       + ("" if s["teacher"] == me else "es")), "mode": s["mode"],
                               "agenda": s.get("agenda", [])} for s in upcoming],
            "to_check_in": [{"session_id": s["session_id"], "label": f"Session {s['number']}, "
                             f"{local(s['starts_at'], tz)}"} for s in started],
            "balance": my_balance(book, me, view["partner"]),
        })
        current.append(view)
    checkins = Table("checkins", "Your check-ins", [
        Column("partner", "Partner"), Column("session_id", "Session"), Column("happened", "Happened"),
        Column("learned", "Learned (1–5)", True), Column("helped", "Helped (1–5)", True)],
        [{"partner": next((c["partner"] for c in current if c["match_id"] == p["match_id"]), p["match_id"]),
          **{k: c.get(k) for k in ("session_id", "happened", "learned", "helped")}}
         for p in partnerships for c in p.get("checkins", [])], empty="No check-in yet.")
    return {"timezone": str(tz), "display_name": (profile or {}).get("display_name") or me,
            "proposals": proposals, "current": current, "checkins": checkins}


def my_balance(book: dict[str, Any] | None, me: str, partner: str) -> dict[str, Any]:
    """The partnership's balance from my side: sessions where I taught, where I learned, the ratings."""
    if not book:
        return {"i_taught": 0, "i_learned": 0, "held": 0, "my_learned_avg": None, "their_learned_avg": None,
                "text": "No session held yet."}
    i_am_a = book["person_a"] == me
    mine, theirs = (book["a_teaches_b"], book["b_teaches_a"]) if i_am_a else (book["b_teaches_a"], book["a_teaches_b"])
    text = (f"You taught {mine['held']} session(s), {partner} taught {theirs['held']}; "
            f"{book['sessions_held']} held in all.")
    return {"i_taught": mine["held"], "i_learned": theirs["held"], "held": book["sessions_held"],
            "my_learned_avg": theirs.get("learned_avg"), "their_learned_avg": mine.get("learned_avg"),
            "flags": book.get("flags", []), "text": text}


def inbox_table(entries: list[dict[str, Any]]) -> Table:
    return Table("inbox", "Your inbox", [Column("when", "When (UTC)"), Column("subject", "Message")],
                 [{"when": str(e.get("created_at", ""))[:16].replace("T", " "),
                   "subject": e.get("subject") or e.get("title") or e.get("kind", ""), "read": e.get("read", False)}
                  for e in entries], empty="Your inbox is empty.")
