"""The in-app inbox over HTTP: newest first, paged without skipping entries that share a time,
mark-read, and nothing for another tenant."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from support import bearer, of_org, profile
from support import proposal as make_proposal

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

SAME_TIME = 5


def inbox_of(stack, org: str, person_id: str, **params: object) -> httpx.Response:
    return httpx.get(f"{stack.service_url('notifier')}/people/{person_id}/inbox", params=params,
                     headers=bearer(stack, org))


async def test_inbox_pages_newest_first_across_equal_times_and_marks_read(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    me = profile(org, f"ivy-{org}", offers=["sql"], wants=["excel"], channels=["inbox"])
    partners = [profile(org, f"p{i}-{org}", offers=["excel"], wants=["sql"], channels=["inbox"])
                for i in range(SAME_TIME + 1)]
    at = datetime.now(UTC).replace(microsecond=0)
    times = [at] * SAME_TIME + [at + timedelta(minutes=1)]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        for p in (me, *partners):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        for i, (partner, occurred_at) in enumerate(zip(partners, times, strict=True)):
            proposal = make_proposal(org, me, partner, ("sql", "query"), ("excel", "model"))
            await fe.publish("matches.proposed", proposal | {"match_id": f"m{i}-{org}", "occurred_at": occurred_at.isoformat()})
        await tap.wait_for(lambda t: len([n for n in of_org(t.events("notifications.sent"), org)
                                          if n["person_id"] == me["person_id"]]) == len(times), what="my inbox")

    pages, before = [], None
    while True:
        page = inbox_of(stack, org, me["person_id"], limit=2, **({"before": before} if before else {})).json()
        pages.append(page["entries"])
        before = page["next_before"]
        if before is None:
            break
    entries = [e for page in pages for e in page]
    assert len(pages) >= 3 and all(len(page) <= 2 for page in pages)
    assert len({e["entry_id"] for e in entries}) == len(entries) == len(times)
    assert entries[0]["data"]["match_id"] == f"m{SAME_TIME}-{org}"  # the newest
    keys = [(e["created_at"], e["entry_id"]) for e in entries]
    assert keys == sorted(keys, reverse=True)
    everything = inbox_of(stack, org, me["person_id"], limit=100).json()["entries"]
    assert [e["entry_id"] for e in everything] == [e["entry_id"] for e in entries]
    older = inbox_of(stack, org, me["person_id"], before=entries[0]["created_at"]).json()["entries"]
    assert len(older) == SAME_TIME, "a bare timestamp still works as a cursor"
    assert inbox_of(stack, org, me["person_id"], before="nonsense").status_code == 422

    notifier = stack.service_url("notifier")
    entry = entries[3]["entry_id"]
    assert httpx.post(f"{notifier}/people/{me['person_id']}/inbox/{entry}/read", headers=bearer(stack, "other")).status_code == 404
    assert all(e["read_at"] is None for e in inbox_of(stack, org, me["person_id"], limit=100).json()["entries"])
    response = httpx.post(f"{notifier}/people/{me['person_id']}/inbox/{entry}/read", headers=bearer(stack, org))
    assert response.status_code == 200 and response.json() == {"read": True}
    read = {e["entry_id"]: e["read_at"] for e in inbox_of(stack, org, me["person_id"], limit=100).json()["entries"]}
    assert read[entry] is not None and sum(v is not None for v in read.values()) == 1
    assert inbox_of(stack, "other", me["person_id"]).json() == {"entries": [], "next_before": None}
