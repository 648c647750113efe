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
