"""The reported bug, through the running stack: one person's touching Tuesday windows (09:00-10:00
and 10:00-11:00) against the other's 09:00-11:00, with 90-minute sessions. The matcher proposes
the pair; once both accept, the scheduler must create the series, not answer unschedulable."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from support import PROGRAM, of_org, profile

from reciprocal.wire import Frontend, Tap

TOPICS = ["matches.proposed", "matches.accepted", "schedules.created", "schedules.unschedulable"]
TOUCHING = [{"weekday": "tue", "start": "09:00", "end": "10:00"}, {"weekday": "tue", "start": "10:00", "end": "11:00"}]
ONE_WINDOW = [{"weekday": "tue", "start": "09:00", "end": "11:00"}]


async def test_touching_windows_pair_is_proposed_accepted_and_scheduled(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    ana = profile(org, f"ana-{org}", offers=["leadership"], wants=["python"], department="Finance", windows=TOUCHING)
    ben = profile(org, f"ben-{org}", offers=["python"], wants=["leadership"], department="Sales", windows=ONE_WINDOW)
    program = {**PROGRAM, "cadence": "weekly", "duration_weeks": 4, "session_minutes": 90}
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await fe.publish("programs.configured", {"org_id": org, **program})
        for p in (ana, ben):
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="the proposal")
        proposal = of_org(tap.events("matches.proposed"), org)[0]
        for person in (ana, ben):
            await fe.publish("matches.responded", {"org_id": org, "match_id": proposal["match_id"],
                                                   "person_id": person["person_id"], "decision": "accept"})
        await tap.wait_for(
            lambda t: of_org(t.events("schedules.created"), org) or of_org(t.events("schedules.unschedulable"), org),
            what="the scheduler's answer")
    assert of_org(tap.events("schedules.unschedulable"), org) == []
    assert {proposal["person_a"], proposal["person_b"]} == {ana["person_id"], ben["person_id"]}
    (schedule,) = of_org(tap.events("schedules.created"), org)
    assert schedule["match_id"] == proposal["match_id"]
    sessions = schedule["sessions"]
    assert len(sessions) == 4 and all(s["flagged"] is None for s in sessions)
    for s in sessions:
        start = datetime.fromisoformat(s["starts_at"]).astimezone(ZoneInfo("Europe/London"))
        end = datetime.fromisoformat(s["ends_at"]).astimezone(ZoneInfo("Europe/London"))
        # the middle of the joined 09:00-11:00, across both of Ana's windows
        assert (start.strftime("%a %H:%M"), end.strftime("%H:%M")) == ("Tue 09:15", "10:45")
