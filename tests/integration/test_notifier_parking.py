import asyncio
import uuid

from support import of_org, profile
from support import proposal as make_proposal

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged


async def test_a_proposal_that_overtakes_the_profiles_is_delivered_once_they_arrive(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, f"amy-{org}", offers=["leadership"], wants=["excel"])
    b = profile(org, f"ben-{org}", offers=["excel"], wants=["leadership"])
    proposal = make_proposal(org, a, b, ("leadership", "lead a team"), ("excel", "build a forecast"))
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        await fe.publish("matches.proposed", proposal)
        await asyncio.sleep(2)
        assert not of_org(tap.events("notifications.sent"), org)
        for p in (a, b):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        await tap.wait_for(lambda t: len(of_org(t.events("notifications.sent"), org)) >= 4, what="4 deliveries")
    channels = sorted((n["person_id"], n["channel"]) for n in of_org(tap.events("notifications.sent"), org))
    assert channels == sorted((p["person_id"], c) for p in (a, b) for c in ("email", "inbox"))
