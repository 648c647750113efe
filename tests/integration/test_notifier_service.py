import asyncio
import uuid

import httpx
from support import bearer, of_org, profile
from support import proposal as make_proposal

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged


def emails_to(stack, address: str) -> list:
    return [m for m in stack.emails() if m["To"] == address]


async def wait_emails(stack, address: str, count: int, timeout: float = 30) -> list:
    for _ in range(int(timeout * 10)):
        found = emails_to(stack, address)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{count} emails to {address} not seen")


async def test_proposal_email_and_inbox_once_per_event(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, f"ann-{org}", offers=["leadership"], wants=["social media"])
    b = profile(org, f"raj-{org}", offers=["social media"], wants=["leadership"])
    proposal = make_proposal(org, a, b, ("leadership", "lead a team"), ("social media", "grow my LinkedIn audience"))
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        for p in (a, b):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        first = await fe.publish("matches.proposed", proposal)
        await fe.publish("matches.proposed", first)  # redelivered
        await fe.publish("matches.declined", {k: proposal[k] for k in ("org_id", "match_id", "program_id",
                                                                       "person_a", "person_b")})
        await tap.wait_for(lambda t: len(of_org(t.events("notifications.sent"), org)) >= 8, what="8 deliveries")
    mails = await wait_emails(stack, a["email"], 2)
    proposal_mail = next(m for m in mails if m["Subject"].startswith("New mentoring match proposed"))
    text = proposal_mail.get_body(("plain",)).get_content()
    assert "Raj" in text and "social media" in text and "leadership" in text and f"m-{org}" in text
    assert len([m for m in emails_to(stack, a["email"]) if m["Subject"].startswith("New mentoring match proposed")]) == 1
    inbox = httpx.get(f"{stack.service_url('notifier')}/people/{a['person_id']}/inbox",
                      headers=bearer(stack, org)).json()
    assert [e["kind"] for e in inbox["entries"]] == ["match_declined", "match_proposed"]
    other = httpx.get(f"{stack.service_url('notifier')}/people/{a['person_id']}/inbox", headers=bearer(stack, "x"))
    assert other.json()["entries"] == []
