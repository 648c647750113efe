"""`reciprocal demo`: a realistic cohort from profiles to emails, on the embedded stack."""

import asyncio
from datetime import datetime
from typing import Any

from reciprocal.cohort import PEOPLE, PROGRAM_EVENT
from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap

TOPICS = ["profiles.changed", "profiles.rejected", "matches.proposed", "matches.accepted", "schedules.created",
          "schedules.unschedulable", "notifications.sent", "notifications.failed"]


def run_demo(clock_speed: float = 1.0) -> int:
    stack = EmbeddedStack(clock_speed=clock_speed)
    ok = False
    try:
        print("Starting the embedded stack (Tansu, SecantusDB, SMTP sink, four services)...", flush=True)
        stack.start()
        summary = asyncio.run(drive(stack))
        print(summary)
        ok = True
        return 0
    finally:
        stack.stop(keep_workdir=not ok)
        print("Stack stopped." if ok else f"Stack stopped; logs kept in {stack.workdir / 'logs'}")


async def drive(stack: EmbeddedStack) -> str:
    names = {p["person_id"]: p["display_name"] for p in PEOPLE}
    zones = {p["person_id"]: p["timezone"] for p in PEOPLE}
    async with Frontend(stack.kafka_bootstrap) as frontend, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await frontend.publish("programs.configured", PROGRAM_EVENT)
        await asyncio.sleep(1)
        for profile in PEOPLE:
            await frontend.publish("profiles.submitted", profile)
        print(f"Published {len(PEOPLE)} profiles; waiting for proposals...", flush=True)
        await tap.wait_for(lambda t: len(t.events("profiles.changed")) >= len(PEOPLE), what="profiles.changed")
        proposals = await tap.settle("matches.proposed", quiet=4.0)
        for proposal in proposals:
            for person in (proposal["person_a"], proposal["person_b"]):
                await frontend.publish("matches.responded", {
                    "org_id": proposal["org_id"], "match_id": proposal["match_id"], "person_id": person,
                    "decision": "accept"})
        print(f"{len(proposals)} proposals accepted by both partners; waiting for schedules and emails...", flush=True)
        wanted = {p["match_id"] for p in proposals}
        await tap.wait_for(
            lambda t: wanted <= {e["match_id"]
                                 for e in t.events("schedules.created") + t.events("schedules.unschedulable")},
            what="a schedule for every accepted match", timeout=90)
        schedule_ids = {e["event_id"] for e in tap.events("schedules.created")}
        await tap.wait_for(
            lambda t: sum(1 for n in t.events("notifications.sent")
                          if n["channel"] == "email" and n["cause_event_id"] in schedule_ids) >= 2 * len(schedule_ids),
            what="schedule emails", timeout=90)
        return render_summary(proposals, tap, names, zones, stack)


def render_summary(proposals: list[dict], tap: Tap, names: dict, zones: dict, stack: EmbeddedStack) -> str:
    lines = ["", "=" * 78, "Reciprocal demo: who teaches whom, when they meet, what was sent", "=" * 78]
    schedules = {e["match_id"]: e for e in tap.events("schedules.created")}
    for p in sorted(proposals, key=lambda p: -p["score"]):
        a, b = p["person_a"], p["person_b"]
        lines.append(f"\n{names[a]} <-> {names[b]}   score {p['score']:.3f}")
        lines.append(f"  {names[a]} teaches {names[b]}: {_teach(p['a_teaches_b'])}")
        lines.append(f"  {names[b]} teaches {names[a]}: {_teach(p['b_teaches_a'])}")
        schedule = schedules.get(p["match_id"])
        if schedule is None:
            lines.append("  no schedule could be made")
            continue
        first = schedule["sessions"][0]
        lines.append(f"  {len(schedule['sessions'])} sessions ({first['mode']}), kickoff:")
        for local in first["local_times"]:
            when = datetime.fromisoformat(local["starts_at"])
            lines.append(f"    {names[local['person_id']]:<14} {when:%a %d %b %Y %H:%M} ({local['timezone']})")
    emails = stack.emails()
    lines.append(f"\nEmails delivered to the SMTP sink: {len(emails)}")
    for message in sorted(emails, key=lambda m: (m["To"], m["Subject"])):
        invite = " [+ calendar invite]" if any(
            part.get_content_type() == "text/calendar" for part in message.walk()) else ""
        lines.append(f"  to {message['To']:<28} {message['Subject']}{invite}")
    failed = tap.events("notifications.failed")
    lines.append(f"\nNotifications failed: {len(failed)}")
    return "\n".join(lines)


def _teach(items: list[dict[str, Any]]) -> str:
    return "; ".join(f"{t['skill']} (to {t['goal']})" for t in items) or "-"
