"""What the notifier remembers between events: an accepted match that is later withdrawn is a
partnership that ended, and a reminder tells who teaches whom from the latest schedule."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from support import of_org, profile
from support import proposal as make_proposal

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged


async def mail_with(stack, address: str, subject_start: str, timeout: float = 30):
    for _ in range(int(timeout * 10)):
        for mail in stack.emails():
            if mail["To"] == address and mail["Subject"].startswith(subject_start):
                return mail
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no email {subject_start!r} to {address}")


def text_of(mail) -> str:
    return " ".join(mail.get_body(("plain",)).get_content().split())


def session(number: int, starts_at: datetime, teacher: str | None, learner: str | None, agenda: list[str]) -> dict:
    return {"session_id": f"s{number}", "number": number, "kind": "teaching" if teacher else "kickoff",
            "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
            "mode": "video", "teacher": teacher, "learner": learner, "agenda": agenda, "local_times": []}


async def test_partnership_end_and_reminder_use_what_came_before(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, f"ada-{org}", offers=["sql"], wants=["excel"], tz="America/New_York")
    b = profile(org, f"ben-{org}", offers=["excel"], wants=["sql"], tz="Asia/Kolkata")
    pair = make_proposal(org, a, b, ("sql", "query sales data"), ("excel", "build a forecast"))
    outcome = {k: pair[k] for k in ("org_id", "match_id", "program_id", "person_a", "person_b", "a_teaches_b",
                                    "b_teaches_a")}
    first = datetime(2031, 3, 4, 14, 30, tzinfo=UTC)
    sessions = [session(1, first, None, None, ["Ground rule: be on time"]),
                session(2, first + timedelta(weeks=2), b["person_id"], a["person_id"], ["Goal: build a forecast"])]
    schedule = {k: pair[k] for k in ("org_id", "match_id", "program_id", "person_a", "person_b")} | {
        "schedule_id": f"sch-{org}", "sessions": sessions, "version": 1}
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        for p in (a, b):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        await fe.publish("matches.accepted", outcome)
        await fe.publish("schedules.created", schedule)
        await tap.wait_for(
            lambda t: len(of_org(t.events("notifications.sent"), org)) >= 8, what="accepted and scheduled"
        )
        await fe.publish(
            "sessions.upcoming",
            {k: pair[k] for k in ("org_id", "match_id", "person_a", "person_b")}
            | {"session_id": "s2", "starts_at": sessions[1]["starts_at"], "hours_before": 24},
        )
        await fe.publish("matches.withdrawn", outcome | {"reason": f"{b['person_id']} left the program"})

    reminder = text_of(await mail_with(stack, a["email"], "Reminder: mentoring session"))
    assert f"Session 2, video call. {b['display_name']} teaches you." in reminder
    assert "Goal: build a forecast" in reminder and "Tuesday 18 March 2031, 10:30 (America/New_York, EDT)" in reminder
    reminder_b = text_of(await mail_with(stack, b["email"], "Reminder: mentoring session"))
    assert (
        f"You teach {a['display_name']}." in reminder_b
        and "Tuesday 18 March 2031, 20:00 (Asia/Kolkata, IST)" in reminder_b
    )

    ended = await mail_with(stack, a["email"], "Your mentoring partnership with")
    assert ended["Subject"].endswith("has ended")
    assert f"has ended because {b['display_name']} left the programme." in text_of(ended)
    assert b["person_id"] not in text_of(ended) and "proposed" not in text_of(ended).lower()
