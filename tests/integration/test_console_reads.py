"""The read endpoints (and the two admin actions) the web console uses, on the real stack: who may read
what, nothing across orgs, and an admin's withdrawal publishing matches.withdrawn and freeing both people."""

import asyncio
import uuid

import httpx
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap


def get(stack, service, path, org, role="admin", person=None):
    return httpx.get(stack.service_url(service) + path, headers=bearer(stack, org, role, person), timeout=10)


async def test_console_reads_and_admin_withdrawal(stack):
    org, other = f"org-{uuid.uuid4().hex[:6]}", f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, "a", offers=["leadership"], wants=["social media"], department="Finance")
    b = profile(org, "b", offers=["social media"], wants=["leadership"], department="Marketing")
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap,
                                                          ["matches.proposed", "matches.withdrawn"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        await asyncio.sleep(1)
        for p in (a, b):
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="a proposal")
        [proposal] = of_org(tap.events("matches.proposed"), org)
        match_id = proposal["match_id"]

        programs = get(stack, "profiles", "/programs", org).json()["programs"]
        assert [(p["program_id"], p["name"], p["enrolled"], p["active"]) for p in programs] == [
            ("pilot", "Pilot", 2, 2)]
        people = get(stack, "profiles", "/programs/pilot/people", org).json()["people"]
        assert [(p["person_id"], p["department"]) for p in people] == [("a", "Finance"), ("b", "Marketing")]
        counts = get(stack, "matcher", "/programs/match-counts", org).json()["programs"]
        assert counts == [{"program_id": "pilot", "matches": {"proposed": 1}, "people_matched": 0}]
        [m] = get(stack, "matcher", "/programs/pilot/matches", org).json()["matches"]
        assert (m["match_id"], m["status"], m["name_a"], m["department_b"]) == (match_id, "proposed", "A", "Marketing")
        assert get(stack, "scheduler", "/programs/pilot/schedules", org).json()["schedules"] == []
        assert get(stack, "progress", "/programs/pilot/partnerships", org).json()["partnerships"] == []
        assert get(stack, "notifier", "/notifications/failed", org).json() == {"failed": []}

        # participants: their own matches and match, never the program's reads
        mine = get(stack, "matcher", "/people/a/partners", org, "participant", "a").json()["matches"]
        assert [x["match_id"] for x in mine] == [match_id]
        assert get(stack, "matcher", f"/matches/{match_id}", org, "participant", "b").status_code == 200
        assert get(stack, "matcher", f"/matches/{match_id}", org, "participant", "c").status_code == 403
        assert get(stack, "matcher", "/people/b/partners", org, "participant", "a").status_code == 403
        for service, path in (("profiles", "/programs"), ("matcher", "/programs/pilot/matches"),
                              ("scheduler", "/programs/pilot/schedules"), ("notifier", "/notifications/failed"),
                              ("progress", "/programs/pilot/partnerships")):
            assert get(stack, service, path, org, "participant", "a").status_code == 403, path
        # another org's admin sees nothing of it
        assert get(stack, "profiles", "/programs", other).json() == {"programs": []}
        assert get(stack, "matcher", "/programs/pilot/matches", other).json()["matches"] == []
        assert get(stack, "matcher", f"/matches/{match_id}", other).status_code == 404
        answer = httpx.post(f"{stack.service_url('matcher')}/matches/{match_id}/withdraw", headers=bearer(stack, other))
        assert answer.status_code == 404

        # an admin of the org withdraws the proposal: matches.withdrawn; a second try is refused
        assert httpx.post(f"{stack.service_url('matcher')}/matches/{match_id}/withdraw",
                          headers=bearer(stack, org, "participant", "a")).status_code == 403
        answer = httpx.post(f"{stack.service_url('matcher')}/matches/{match_id}/withdraw", headers=bearer(stack, org))
        assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"
        assert httpx.post(f"{stack.service_url('matcher')}/matches/{match_id}/end",
                          headers=bearer(stack, org)).status_code == 409
        await tap.wait_for(lambda t: of_org(t.events("matches.withdrawn"), org), what="matches.withdrawn")
        [withdrawn] = of_org(tap.events("matches.withdrawn"), org)
        assert withdrawn["match_id"] == match_id and withdrawn["reason"] == "withdrawn by a program admin"
        assert not withdrawn["partnership_ended"]
