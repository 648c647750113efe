"""Two orgs with the same person ids, skills and program ids go through the whole pipeline, all five
services, side by side. Nothing of one may reach the other: not a proposal, a schedule, an email, an
inbox entry or an HTTP read. Each org's people carry markers (their email domain and name) that
would show wherever the other org's data leaked."""

import json
import uuid

import httpx
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap

TOPICS = ["profiles.changed", "matches.proposed", "matches.accepted", "schedules.created", "notifications.sent",
          "partnerships.balance-changed"]


def people_of(org: str) -> list[dict]:
    return [profile(org, person, offers=offers, wants=wants, email=f"{person}@{org}.example.com",
                    display_name=f"{person.title()} of {org}")
            for person, offers, wants in (("ana", ["leadership"], ["python"]), ("ben", ["python"], ["leadership"]))]


async def test_two_orgs_with_the_same_people_skills_and_programs_never_see_each_other(stack):
    run = uuid.uuid4().hex[:6]
    orgs = (f"iso-a-{run}", f"iso-b-{run}")
    other = {orgs[0]: orgs[1], orgs[1]: orgs[0]}
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        for org in orgs:
            await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for org in orgs:
            for p in people_of(org):
                await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: all(of_org(t.events("matches.proposed"), o) for o in orgs), what="proposals")
        proposals = {o: of_org(tap.events("matches.proposed"), o)[0] for o in orgs}
        for org, proposal in proposals.items():
            for person in ("ana", "ben"):
                await fe.publish("matches.responded", {"org_id": org, "match_id": proposal["match_id"],
                                                       "person_id": person, "decision": "accept"})
        await tap.wait_for(lambda t: all(of_org(t.events("schedules.created"), o) for o in orgs), what="schedules")
        await tap.wait_for(lambda t: all(len(of_org(t.events("notifications.sent"), o)) >= 6 for o in orgs),
                           what="proposal, acceptance and invite messages for both orgs")
        await tap.settle("notifications.sent", quiet=2.0)

    crossed: dict[str, int] = {}

    def count(what: str, leaked: bool) -> None:
        crossed[what] = crossed.get(what, 0) + int(leaked)

    for topic in TOPICS:
        for event in tap.events(topic):
            if event.get("org_id") in orgs:
                count(topic, other[event["org_id"]] in json.dumps(event))
    for proposal in proposals.values():
        count("proposal pairs", {proposal["person_a"], proposal["person_b"]} != {"ana", "ben"})
    for message in stack.emails():
        to = str(message["To"])
        org = next((o for o in orgs if f"@{o}." in to), None)
        if org:
            body = message.as_string()
            count("emails", other[org] in body)

    async with httpx.AsyncClient() as http:
        for org in orgs:
            match_id, foreign_match = proposals[org]["match_id"], proposals[other[org]]["match_id"]
            ana = bearer(stack, org, "participant", "ana")
            admin = bearer(stack, org)
            me = (await http.get(f"{stack.service_url('profiles')}/profiles/ana", headers=ana)).json()
            count("profile reads", me["email"] != f"ana@{org}.example.com")
            inbox = (await http.get(f"{stack.service_url('notifier')}/people/ana/inbox", headers=ana)).json()
            assert inbox["entries"], "ana has an inbox in her own org"
            for entry in inbox["entries"]:
                count("inbox entries", other[org] in json.dumps(entry) or entry.get("org_id", org) != org)
            matches = (await http.get(f"{stack.service_url('matcher')}/people/ana/matches", headers=ana)).json()
            count("match reads", foreign_match in json.dumps(matches) or other[org] in json.dumps(matches))
            for url in (f"{stack.service_url('scheduler')}/matches/{foreign_match}/schedule",
                        f"{stack.service_url('progress')}/partnerships/{foreign_match}/balance"):
                for headers in (ana, admin):
                    count("foreign reads", (await http.get(url, headers=headers)).status_code != 404)
            own = await http.get(f"{stack.service_url('scheduler')}/matches/{match_id}/schedule", headers=ana)
            count("own schedule reads", own.status_code != 200 or other[org] in own.text)
            feed = await http.get(f"{stack.service_url('scheduler')}/people/ana/sessions.ics", headers=ana)
            count("calendar feeds", feed.status_code != 200 or other[org] in feed.text)
    assert crossed and set(crossed.values()) == {0}, crossed
