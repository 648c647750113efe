"""A series' calendar invite through its life, checked at the SMTP sink: created (REQUEST), updated
when a partner's availability changes (same UID, higher SEQUENCE), cancelled when a partner leaves
(CANCEL) — and the person who left hears nothing further."""

import uuid

import icalendar
from support import PROGRAM, of_org, profile

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap

TOPICS = ["matches.proposed", "schedules.created", "schedules.updated", "notifications.sent"]


def invites(stack: EmbeddedStack, to: str) -> list[icalendar.Calendar]:
    found = []
    for mail in stack.emails():
        if mail["To"] == to:
            found += [icalendar.Calendar.from_ical(part.get_payload(decode=True))
                      for part in mail.walk() if part.get_content_type() == "text/calendar"]
    return sorted(found, key=lambda cal: int(next(iter(cal.walk("VEVENT")))["SEQUENCE"]))


def emails_caused_by(tap: Tap, org: str, event: dict) -> int:
    return sum(1 for n in of_org(tap.events("notifications.sent"), org)
               if n["channel"] == "email" and n["cause_event_id"] == event["event_id"])


async def test_an_invite_is_requested_updated_and_cancelled_with_one_uid(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    ana = profile(org, f"ana-{org}", offers=["leadership"], wants=["social media"], department="Finance")
    jo = profile(org, f"jo-{org}", offers=["social media"], wants=["leadership"], department="Marketing",
                 tz="America/New_York", windows=[{"weekday": "tue", "start": "09:00", "end": "12:00"}])
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (ana, jo):
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="a proposal")
        match_id = of_org(tap.events("matches.proposed"), org)[0]["match_id"]
        for p in (ana, jo):
            await fe.publish("matches.responded", {"org_id": org, "match_id": match_id,
                                                   "person_id": p["person_id"], "decision": "accept"})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
        created = of_org(tap.events("schedules.created"), org)[0]
        await tap.wait_for(lambda t: emails_caused_by(t, org, created) == 2, what="two invites")

        await fe.publish("profiles.submitted", {**jo, "availability": [
            {"weekday": "tue", "start": "10:30", "end": "12:00"}]})
        await tap.wait_for(lambda t: of_org(t.events("schedules.updated"), org), what="schedules.updated")
        updated = of_org(tap.events("schedules.updated"), org)[0]
        await tap.wait_for(lambda t: emails_caused_by(t, org, updated) == 2, what="two updated invites")

        await fe.publish("profiles.withdrawn", {"org_id": org, "person_id": ana["person_id"]})
        await tap.wait_for(lambda t: any(e.get("cancelled") for e in of_org(t.events("schedules.updated"), org)),
                           what="the cancellation")
        cancelled = next(e for e in of_org(tap.events("schedules.updated"), org) if e.get("cancelled"))
        await tap.wait_for(lambda t: emails_caused_by(t, org, cancelled) == 1, what="the cancellation email")
        await tap.settle("notifications.sent", quiet=2.0)

    request, update, cancel = invites(stack, jo["email"])
    assert [str(cal["METHOD"]) for cal in (request, update, cancel)] == ["REQUEST", "REQUEST", "CANCEL"]
    uids = {str(event["UID"]) for cal in (request, update, cancel) for event in cal.walk("VEVENT")}
    assert len(uids) == 1
    sequences = [int(next(iter(cal.walk("VEVENT")))["SEQUENCE"]) for cal in (request, update, cancel)]
    assert sequences[0] < sequences[1] < sequences[2]
    assert [str(cal["METHOD"]) for cal in invites(stack, ana["email"])] == ["REQUEST", "REQUEST"]
    assert emails_caused_by(tap, org, cancelled) == 1  # Ana left: she gets nothing further
