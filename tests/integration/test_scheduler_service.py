import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import icalendar
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

LONDON = [{"weekday": "wed", "start": "13:00", "end": "17:00"}]
NEW_YORK = [{"weekday": "wed", "start": "08:00", "end": "11:30"}]


def inside(windows: list[dict], local: datetime, minutes: int) -> bool:
    day = local.strftime("%a").lower()
    start = local.strftime("%H:%M")
    end_minutes = local.hour * 60 + local.minute + minutes
    return any(w["weekday"] == day and w["start"] <= start and end_minutes <= int(w["end"][:2]) * 60 + int(
        w["end"][3:]) for w in windows)


async def test_accepted_match_becomes_a_series_inside_both_windows(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, "anna", offers=["leadership"], wants=["python"], windows=LONDON)
    b = profile(org, "bert", offers=["python"], wants=["leadership"], tz="America/New_York", windows=NEW_YORK)
    topics = ["schedules.created"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (a, b):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        await fe.publish("matches.accepted", {
            "org_id": org, "match_id": "m-test", "program_id": "pilot", "person_a": "anna", "person_b": "bert",
            "a_teaches_b": [{"skill": "leadership", "goal": "lead a team"}],
            "b_teaches_a": [{"skill": "python", "goal": "automate reports"}]})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
    schedule = of_org(tap.events("schedules.created"), org)[0]
    sessions = schedule["sessions"]
    assert len(sessions) == 4  # biweekly over 8 weeks
    assert sessions[0]["kind"] == "kickoff"
    assert [(s["teacher"], s["learner"]) for s in sessions[1:]] == [("anna", "bert"), ("bert", "anna"),
                                                                     ("anna", "bert")]
    for s in sessions:
        start = datetime.fromisoformat(s["starts_at"])
        assert inside(LONDON, start.astimezone(ZoneInfo("Europe/London")), 60)
        assert inside(NEW_YORK, start.astimezone(ZoneInfo("America/New_York")), 60)
    url = stack.service_url("scheduler")
    read = httpx.get(f"{url}/matches/m-test/schedule", headers=bearer(stack, org)).json()
    assert read["version"] == 1 and len(read["sessions"]) == 4
    ics = httpx.get(f"{url}/people/bert/sessions.ics", headers=bearer(stack, org))
    events = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert len({str(e["UID"]) for e in events}) == 1  # one series, as in the emailed invite
    assert len({(str(e["UID"]), e.get("RECURRENCE-ID") and e.decoded("RECURRENCE-ID")) for e in events}) == 4
    assert httpx.get(f"{url}/matches/m-test/schedule", headers=bearer(stack, "other")).status_code == 404


async def test_each_person_has_a_secret_calendar_address_that_rotation_revokes_at_once(stack):
    """Calendar apps cannot send a bearer token: the feed's secret address is its credential. Only the
    person (or an admin) learns it; a rotated address stops working at once; another person, another
    org or a made-up token reads nothing."""
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, "anna", offers=["leadership"], wants=["python"], windows=LONDON)
    b = profile(org, "bert", offers=["python"], wants=["leadership"], tz="America/New_York", windows=NEW_YORK)
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["schedules.created"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (a, b):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        await fe.publish("matches.accepted", {"org_id": org, "match_id": "m-feed", "program_id": "pilot",
                                              "person_a": "anna", "person_b": "bert"})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
    url = stack.service_url("scheduler")
    bert = bearer(stack, org, "participant", "bert")
    async with httpx.AsyncClient(base_url=url) as http:
        first = (await http.get("/people/bert/calendar-feed", headers=bert)).json()["url"]
        assert first.startswith(f"{url}/calendar/") and first.endswith(".ics")
        assert (await http.get("/people/bert/calendar-feed", headers=bert)).json()["url"] == first  # stable
        feed = await http.get(first)  # no bearer token: the address is the credential
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert len(icalendar.Calendar.from_ical(feed.content).walk("VEVENT")) == 4
        anna = (await http.get("/people/anna/calendar-feed", headers=bearer(stack, org, "participant", "anna")))
        assert anna.json()["url"] != first

        assert (await http.get("/people/bert/calendar-feed",
                               headers=bearer(stack, org, "participant", "anna"))).status_code == 403
        assert (await http.post("/people/bert/calendar-feed/rotate", headers=bearer(stack, "other-org"))).json()[
            "url"] != first  # another org's admin gets a feed of that org's own "bert": nothing of this one
        assert (await http.get(first)).status_code == 200

        rotated = (await http.post("/people/bert/calendar-feed/rotate", headers=bert)).json()["url"]
        assert rotated != first
        gone = await http.get(first)
        assert gone.status_code == 404 and gone.json()["detail"]
        assert (await http.get(rotated)).status_code == 200
        assert (await http.get("/calendar/" + "A" * 43 + ".ics")).status_code == 404
        assert (await http.get("/calendar/../people/bert/sessions.ics")).status_code in (401, 404)
