"""After the match, end to end on an accelerated clock (one virtual day per real second): both partners accept
through the links in their real emails, a schedule follows, people check in both ways, a one-sided pair gets
its roles swapped, an ended pair is rematched with the people who were waiting, and nothing is sent twice."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from reciprocal.demo import accept_by_links, read, swapped_session
from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap
from support import PROGRAM, of_org, profile

SPEED = 86_400.0
TOPICS = ["matches.proposed", "matches.accepted", "matches.withdrawn", "schedules.created", "schedules.updated",
          "checkins.requested", "sessions.checked-in", "partnerships.flagged", "notifications.sent"]


@pytest.fixture(scope="module")
def fast_stack() -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(clock_speed=SPEED)
    stack.service_defaults = {"RECIPROCAL_TIMER_POLL_S": "0.5"}
    ok = False
    try:
        stack.start()
        yield stack
        ok = True
    finally:
        stack.stop(keep_workdir=not ok)


async def test_after_the_match_on_the_accelerated_clock(fast_stack):
    stack = fast_stack
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, "a", offers=["leadership"], wants=["social media"], department="Finance")
    b = profile(org, "b", offers=["social media"], wants=["leadership"], department="Marketing")
    c = profile(org, "c", offers=["python"], wants=["sql"], department="Finance")
    d = profile(org, "d", offers=["sql"], wants=["python"], department="Marketing")
    # e can teach c and f can teach d, but e manages f: they are never each other's partner
    e = profile(org, "e", offers=["sql"], wants=["python"], department="People")
    f = profile(org, "f", offers=["python"], wants=["sql"], department="People", manager_id="e")
    program = {"org_id": org, **PROGRAM, "cadence": "weekly", "duration_weeks": 6, "one_sided_min_sessions": 2,
               "proposal_ttl_days": 30}
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap, \
            httpx.AsyncClient(timeout=15) as web:
        await fe.publish("programs.configured", program)
        await asyncio.sleep(1)
        for p in (a, b, c, d):
            await fe.publish("profiles.submitted", p)
            await asyncio.sleep(0.5)
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) == 2, what="two proposals")
        pairs = {frozenset((p["person_a"], p["person_b"])): p for p in of_org(tap.events("matches.proposed"), org)}
        assert set(pairs) == {frozenset("ab"), frozenset("cd")}
        ab, cd = pairs[frozenset("ab")], pairs[frozenset("cd")]
        for p in (e, f):
            await fe.publish("profiles.submitted", p)

        # Accept by HTTP: the accept link of each real proposal email, GET (the page) then POST (the form).
        answered: set[str] = set()
        for _ in range(300):
            await accept_by_links(web, stack, answered)
            if len(answered) == 4:
                break
            await asyncio.sleep(0.1)
        assert len(answered) == 4
        await tap.wait_for(lambda t: len(of_org(t.events("matches.accepted"), org)) == 2, what="both accepted")
        await tap.wait_for(lambda t: len(of_org(t.events("schedules.created"), org)) == 2, what="two schedules")
        assert of_org(tap.events("matches.proposed"), org)[2:] == []  # e and f wait: c and d are taken

        # Sessions happen: a teaches b and both say so; the sessions where b teaches a do not happen, until
        # the one-sided flag swaps the roles. c and d end after their kickoff (not a fit).
        done: set[str] = set()
        ended = False
        [schedule] = [x for x in of_org(tap.events("schedules.created"), org) if x["match_id"] == ab["match_id"]]
        last = max(datetime.fromisoformat(s["ends_at"]) for s in schedule["sessions"])
        while stack.clock.now() < last + timedelta(hours=3):
            flags = [x for x in of_org(tap.events("partnerships.flagged"), org) if x["kind"] == "one_sided"]
            for request in of_org(tap.events("checkins.requested"), org):
                if request["session_id"] in done:
                    continue
                done.add(request["session_id"])
                if request["match_id"] == cd["match_id"]:
                    if not ended:
                        await fe.publish("partnerships.end-requested", {
                            "org_id": org, "match_id": cd["match_id"], "person_id": "d", "reason": "not_a_fit"})
                        ended = True
                    continue
                happened = "no" if request["teacher"] == "b" and not flags else "yes"
                for who in "ab":
                    await fe.publish("sessions.checked-in", {
                        "org_id": org, "match_id": ab["match_id"], "session_id": request["session_id"],
                        "person_id": who, "happened": happened,
                        **({"learned": 4, "helped": 4} if happened == "yes" else {})})
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)

        # The one-sided flag names b teaching a, and the next session after it has b teach a.
        [flag] = [x for x in of_org(tap.events("partnerships.flagged"), org) if x["kind"] == "one_sided"]
        assert flag["match_id"] == ab["match_id"] and flag["neglected"]["teacher"] == "b"
        swapped = [u for u in of_org(tap.events("schedules.updated"), org) if u["match_id"] == ab["match_id"]]
        assert swapped, "no schedules.updated after the one-sided flag"
        session = swapped_session(schedule, swapped, "b")
        assert session is not None and session["learner"] == "a"
        original = {s["session_id"]: s["teacher"] for s in schedule["sessions"]}
        assert original[session["session_id"]] == "a"  # the session was a's to teach: the roles were swapped

        # Check-ins both ways reached the learning balance.
        balance = await read_as(web, stack, org, f"/partnerships/{ab['match_id']}/balance")
        assert balance["a_teaches_b"]["held"] >= 2 and balance["b_teaches_a"]["held"] >= 1

        # The end: matches.withdrawn with the reason code; c and d are rematched with e and f, never each other.
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) == 4, what="the rematch")
        # (the new proposals may have expired since: nobody answered them in this test)
        [withdrawn] = [w for w in of_org(tap.events("matches.withdrawn"), org) if w["partnership_ended"]]
        assert (withdrawn["match_id"], withdrawn["reason"], withdrawn["partnership_ended"]) == (
            cd["match_id"], "not_a_fit", True)
        proposed = [frozenset((p["person_a"], p["person_b"])) for p in of_org(tap.events("matches.proposed"), org)]
        assert set(proposed[2:]) == {frozenset("ce"), frozenset("df")}
        assert proposed.count(frozenset("cd")) == 1
        outcomes = await read_as(web, stack, org, "/programs/pilot/outcomes")
        assert outcomes["partnerships"] == 2

        # Nothing sent twice: one notification per (cause, recipient, channel); every event id once.
        sent = of_org(tap.events("notifications.sent"), org)
        assert sent and not [k for k, n in Counter(
            (s["cause_event_id"], s["person_id"], s["channel"]) for s in sent).items() if n > 1]
        mine = [m for m in stack.emails() if m["To"].endswith("@example.com")]
        assert len({m["Message-ID"] for m in mine}) == len(mine)
        ids = [ev["event_id"] for topic in TOPICS for ev in of_org(tap.events(topic), org)]
        assert len(ids) == len(set(ids))


async def read_as(web: httpx.AsyncClient, stack: EmbeddedStack, org: str, path: str) -> dict:
    """The test's HTTP reads, through the demo's one reader (it reads as the demo's org; here as `org`)."""
    return await read(web, stack, "progress", path, org_id=org)
