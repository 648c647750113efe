import uuid

import httpx
from support import bearer, of_org, profile

from reciprocal.wire import Frontend, Tap


async def test_valid_profile_is_published_and_readable_only_by_its_tenant(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.changed"]) as tap:
        await fe.publish("profiles.submitted", profile(org, "ada", offers=["python"], wants=["leadership"]))
        await tap.wait_for(lambda t: of_org(t.events("profiles.changed"), org), what="profiles.changed")
    changed = of_org(tap.events("profiles.changed"), org)[0]
    assert changed["person_id"] == "ada" and changed["version"] == 1 and changed["active"] is True
    url = f"{stack.service_url('profiles')}/profiles/ada"
    assert httpx.get(url, headers=bearer(stack, org)).json()["timezone"] == "Europe/London"
    assert httpx.get(url, headers=bearer(stack, "someone-else")).status_code == 404
    assert httpx.get(url).status_code == 401


async def test_bad_content_is_rejected_with_field_errors(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    bad = profile(org, "bob", offers=["python"], wants=["leadership"], tz="Mars/Olympus_Mons",
                  windows=[{"weekday": "mon", "start": "12:00", "end": "09:00"}])
    bad["wants"][0]["goal"] = ""
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.rejected"]) as tap:
        sent = await fe.publish("profiles.submitted", bad)
        await tap.wait_for(lambda t: of_org(t.events("profiles.rejected"), org), what="profiles.rejected")
    rejected = of_org(tap.events("profiles.rejected"), org)[0]
    assert rejected["rejected_event_id"] == sent["event_id"]
    fields = {e["field"] for e in rejected["errors"]}
    assert {"timezone", "wants[0].goal", "availability[0].end"} <= fields


async def test_a_redelivered_event_has_one_effect(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.changed"]) as tap:
        event = await fe.publish("profiles.submitted", profile(org, "cy", offers=["sql"], wants=["coaching"]))
        await fe.publish("profiles.submitted", event)
        later = profile(org, "cy", offers=["sql", "excel"], wants=["coaching"])
        await fe.publish("profiles.submitted", later)
        await tap.wait_for(lambda t: len(of_org(t.events("profiles.changed"), org)) >= 2, what="two versions")
        await tap.settle("profiles.changed", quiet=1.5)
    versions = [e["version"] for e in of_org(tap.events("profiles.changed"), org)]
    assert versions == [1, 2]


async def test_oversized_profiles_are_rejected_plainly_and_the_next_profile_still_flows(stack):
    """Over a field's bound: `profiles.rejected`. Over the whole-message limit (512 KiB): the DLQ, unparsed."""
    org = f"org-{uuid.uuid4().hex[:6]}"
    huge_name = profile(org, "hugo", offers=["python"], wants=["leadership"], display_name="H" * 300_000)
    many_windows = profile(org, "mia", offers=["python"], wants=["leadership"],
                           windows=[{"weekday": "mon", "start": "09:00", "end": "10:00"}] * 5_000)
    too_large = profile(org, "tara", offers=["python"], wants=["leadership"], display_name="T" * 900_000)
    normal = profile(org, "nor", offers=["sql"], wants=["coaching"])
    async with Frontend(stack.kafka_bootstrap) as fe, \
            Tap(stack.kafka_bootstrap, ["profiles.rejected", "profiles.changed", "profiles.submitted.dlq"]) as tap:
        for p in (huge_name, many_windows, too_large):
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: len(of_org(t.events("profiles.rejected"), org)) >= 2, what="two rejections")
        await tap.wait_for(lambda t: dead_letter_of(t, b"tara"), what="the too-large message dead-lettered")
        await fe.publish("profiles.submitted", normal)
        await tap.wait_for(lambda t: of_org(t.events("profiles.changed"), org), what="the normal profile")
    rejected = {e["person_id"]: e for e in of_org(tap.events("profiles.rejected"), org)}
    assert rejected["hugo"]["errors"] == [{"field": "display_name", "message": "at most 200 characters"}]
    assert rejected["hugo"]["display_name"] == "" and rejected["hugo"]["email"] == "hugo@example.com"
    assert rejected["mia"]["errors"] == [{"field": "availability", "message": "at most 50 time windows"}]
    sizes = [len(r.value) for r in tap.records if r.topic == "profiles.rejected" and org.encode() in r.value]
    assert max(sizes) < 4096
    assert [e["person_id"] for e in of_org(tap.events("profiles.changed"), org)] == ["nor"]
    assert dict(dead_letter_of(tap, b"tara").headers)["dlq-error-type"] == b"too_large"


def dead_letter_of(tap: Tap, key: bytes):
    return next((r for r in tap.records if r.topic == "profiles.submitted.dlq" and r.key == key), None)
