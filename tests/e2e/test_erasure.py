"""Right of access and right to be forgotten, through all five services as processes.

A matched, scheduled pair: Anaïs (email, inbox and a webhook channel) and Bo. Her export holds her data
from every service; Bo cannot read it. Then her erasure is requested: every service confirms once, and
a scan of every collection of every service database, and of every event published after the request,
finds her email, display name and webhook URL nowhere. Bo's history stays: the ended match, the
schedule, and his messages, which now name "a former participant"."""

import asyncio
import time
import uuid

import bson
import httpx
import pytest
from pymongo import AsyncMongoClient
from support import PROGRAM, bearer, of_org, profile

from reciprocal.export import ExportFailed, export_person
from reciprocal.wire import Frontend, Tap
from shared.contract import FORMER_PARTICIPANT

TOPICS = ["profiles.changed", "matches.proposed", "matches.accepted", "matches.withdrawn", "schedules.created",
          "schedules.updated", "notifications.sent", "notifications.failed", "profiles.erased",
          "profiles.erasure-confirmed"]
SERVICES = ("profiles", "matcher", "scheduler", "notifier", "progress")


async def occurrences(mongo_url: str, needles: list[bytes]) -> dict[str, int]:
    """Where any needle appears in the service databases: {"db.collection": documents}."""
    found: dict[str, int] = {}
    async with AsyncMongoClient(mongo_url) as client:
        for name in await client.list_database_names():
            if not name.startswith("reciprocal_"):
                continue
            db = client[name]
            for collection in await db.list_collection_names():
                async for doc in db[collection].find({}):
                    raw = bson.encode(doc)
                    if any(n in raw for n in needles):
                        found[f"{name}.{collection}"] = found.get(f"{name}.{collection}", 0) + 1
    return found


async def test_a_person_is_exported_then_erased_everywhere_while_the_partner_keeps_the_history(stack):
    run = uuid.uuid4().hex[:6]
    org = f"gdpr-{run}"
    ana, bo = f"anais-{run}", f"bo-{run}"
    name, email, hook = f"Anaïs Erasable{run}", f"anais.{run}@mail.example", f"http://127.0.0.1:9/hooks/{run}"
    people = [
        profile(org, ana, offers=["leadership"], wants=["python"], display_name=name, email=email,
                channels=["email", "inbox", "webhook"], webhook_url=hook),
        profile(org, bo, offers=["python"], wants=["leadership"], display_name=f"Bo Keeper{run}"),
    ]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in people:
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="a proposal")
        [proposal] = of_org(tap.events("matches.proposed"), org)
        for person in (ana, bo):
            await fe.publish("matches.responded", {"org_id": org, "match_id": proposal["match_id"],
                                                   "person_id": person, "decision": "accept"})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="a schedule")
        await tap.wait_for(lambda t: len([e for e in of_org(t.events("notifications.sent"), org)
                                          if e.get("person_id") == bo]) >= 2, what="Bo's messages")

        # Right of access: her export, from every service; another participant gets none of it.
        document = await export_person(stack.state()["services"], stack.token(org, "participant", ana), org, ana)
        parts = document["services"]
        assert parts["profiles"]["profile"]["profile"]["email"] == email
        assert [m["match_id"] for m in parts["matcher"]["matches"]] == [proposal["match_id"]]
        assert parts["scheduler"]["schedules"][0]["match_id"] == proposal["match_id"]
        assert parts["notifier"]["contact"]["webhook_url"] == hook and parts["notifier"]["inbox"]
        assert parts["progress"]["partnerships"][0]["match_id"] == proposal["match_id"]
        with pytest.raises(ExportFailed, match="403"):
            await export_person(stack.state()["services"], stack.token(org, "participant", bo), org, ana)

        # Right to be forgotten.
        requested_ms = time.time() * 1000
        await fe.publish("profiles.erasure-requested", {"org_id": org, "person_id": ana})

        def confirmed(t: Tap) -> set[str]:
            return {e["service"] for e in of_org(t.events("profiles.erasure-confirmed"), org)
                    if e["person_id"] == ana}

        await tap.wait_for(lambda t: confirmed(t) == set(SERVICES), timeout=120, what="five confirmations")
        await tap.wait_for(lambda t: any(e["match_id"] == proposal["match_id"] and e.get("partnership_ended")
                                         for e in of_org(t.events("matches.withdrawn"), org)),
                           what="the partnership ended")
        await tap.settle("profiles.erasure-confirmed", quiet=3.0)
        assert len([e for e in of_org(tap.events("profiles.erasure-confirmed"), org) if e["person_id"] == ana]) == 5

    needles = [name.encode(), email.encode(), hook.encode()]
    later = [r for r in tap.records if r.timestamp >= requested_ms]
    assert later and not [r.topic for r in later if any(n in (r.value or b"") for n in needles)]
    deadline = time.monotonic() + 60
    while found := await occurrences(stack.mongo_url, needles):  # a delivery in flight may finish late
        assert time.monotonic() < deadline, f"the erased person's data is still in {found}"
        await asyncio.sleep(1)

    # The partner's history stays, with her as a former participant.
    async with httpx.AsyncClient(timeout=10) as http:
        matches = (await http.get(f"{stack.service_url('matcher')}/people/{bo}/matches",
                                  headers=bearer(stack, org, "participant", bo))).json()
        assert [(m["match_id"], m["status"]) for m in matches] == [(proposal["match_id"], "ended")]
        inbox = (await http.get(f"{stack.service_url('notifier')}/people/{bo}/inbox",
                                headers=bearer(stack, org, "participant", bo))).json()["entries"]
        assert any(FORMER_PARTICIPANT in entry["text"] for entry in inbox)
        gone = await http.get(f"{stack.service_url('profiles')}/profiles/{ana}", headers=bearer(stack, org))
        assert gone.status_code == 404
