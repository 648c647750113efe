"""The whole chain, driven as a frontend would: raw JSON on the ingress topics, checked at the SMTP sink."""

import uuid
from datetime import datetime

import icalendar
from support import PROGRAM, of_org, profile

from reciprocal.wire import Frontend, Tap

TOPICS = ["matches.proposed", "schedules.created", "notifications.sent", "profiles.rejected", "profiles.changed",
          "profiles.submitted.dlq", "matches.responded.dlq"]


async def test_two_complementary_people_get_matched_scheduled_and_emailed(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    leader = profile(org, f"lena-{org}", offers=["leadership"], wants=["social media"], department="Finance",
                     career_stage="executive")
    junior = profile(org, f"jo-{org}", offers=["social media"], wants=["leadership"], department="Marketing",
                     career_stage="early", tz="America/New_York",
                     windows=[{"weekday": "tue", "start": "09:00", "end": "12:00"}])
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (leader, junior):
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="a proposal")
        proposal = of_org(tap.events("matches.proposed"), org)[0]
        for person in (leader, junior):
            await fe.publish("matches.responded", {"org_id": org, "match_id": proposal["match_id"],
                                                   "person_id": person["person_id"], "decision": "accept"})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
        schedule = of_org(tap.events("schedules.created"), org)[0]
        await tap.wait_for(
            lambda t: sum(1 for n in of_org(t.events("notifications.sent"), org)
                          if n["channel"] == "email" and n["cause_event_id"] == schedule["event_id"]) == 2,
            what="two schedule emails")
    invite_mail = next(m for m in stack.emails() if m["To"] == junior["email"] and "sessions" in m["Subject"])
    text = invite_mail.get_body(("plain",)).get_content()
    assert "Lena" in text
    calendar_part = next(p for p in invite_mail.walk() if p.get_content_type() == "text/calendar")
    calendar = icalendar.Calendar.from_ical(calendar_part.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    starts = sorted(e.decoded("DTSTART") for e in calendar.walk("VEVENT"))
    assert starts == sorted(datetime.fromisoformat(s["starts_at"]) for s in schedule["sessions"])


async def test_garbage_and_bad_profiles_are_reported_while_valid_traffic_flows(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    bad = profile(org, f"bad-{org}", offers=["sql"], wants=["coaching"], tz="Nowhere/Atlantis")
    good = profile(org, f"good-{org}", offers=["sql"], wants=["coaching"])
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await fe.publish_raw("profiles.submitted", b"\x00not json at all", key=org.encode())
        await fe.publish_raw("matches.responded", b'{"org_id": "' + org.encode() + b'", "decision": "maybe"}')
        await fe.publish("profiles.submitted", bad)
        await fe.publish("profiles.submitted", good)
        await tap.wait_for(lambda t: of_org(t.events("profiles.changed"), org), what="the valid profile")
        await tap.wait_for(lambda t: of_org(t.events("profiles.rejected"), org), what="the rejection")
        await tap.wait_for(
            lambda t: any(r.key == org.encode() for r in t.records if r.topic == "profiles.submitted.dlq"),
            what="the dead letter")
        await tap.wait_for(
            lambda t: any(org.encode() in r.value for r in t.records if r.topic == "matches.responded.dlq"),
            what="the schema-invalid dead letter")
    dead = next(r for r in tap.records if r.topic == "profiles.submitted.dlq" and r.key == org.encode())
    headers = dict(dead.headers)
    assert dead.value == b"\x00not json at all"
    assert headers["dlq-error-type"] == b"not_json"
    assert headers["dlq-consumer-group"] == b"reciprocal-profiles"
    invalid = next(r for r in tap.records if r.topic == "matches.responded.dlq" and org.encode() in r.value)
    assert dict(invalid.headers)["dlq-error-type"] == b"schema_invalid"
    assert b"decision" in dict(invalid.headers)["dlq-error-message"]
    rejected = of_org(tap.events("profiles.rejected"), org)[0]
    assert rejected["errors"][0]["field"] == "timezone"
