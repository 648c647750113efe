"""One-click links on the real stack: the links come from the real emails; GET changes nothing; a POST
publishes exactly once however often it is sent; both accepting by link makes the match; a tampered
link changes nothing; no token reaches the notifier's log."""

import asyncio
import re
import uuid
from email.message import EmailMessage

import httpx
from support import PROGRAM, of_org, profile

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap
from services.notifier.domain.links import LINK_NAMESPACE

TOPICS = ["matches.proposed", "matches.responded", "matches.accepted", "partnerships.end-requested",
          "schedules.created"]
LINK = re.compile(r"https?://[^\s\"<>]+/links/(accept|decline|check-in|end)/([A-Za-z0-9_.-]+)")


async def mail_to(stack: EmbeddedStack, address: str, subject_start: str, timeout: float = 60.0) -> EmailMessage:
    for _ in range(int(timeout * 10)):
        found = [m for m in stack.emails() if m["To"] == address and m["Subject"].startswith(subject_start)]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no email {subject_start!r} to {address}")


def links_of(mail: EmailMessage) -> dict[str, str]:
    text = mail.get_body(("plain",)).get_content()
    return {m.group(1): m.group(0) for m in LINK.finditer(text)}


def responded(tap: Tap, org: str) -> list[dict]:
    return of_org(tap.events("matches.responded"), org)


async def test_a_proposal_is_answered_by_its_links_once_and_both_accepting_makes_the_match(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    lena = profile(org, f"lena-{org}", offers=["leadership"], wants=["social media"], department="Finance")
    jo = profile(org, f"jo-{org}", offers=["social media"], wants=["leadership"], department="Marketing")
    notifier = stack.service_url("notifier")
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap, \
            httpx.AsyncClient(timeout=10) as web:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (lena, jo):
            await fe.publish("profiles.submitted", p)
        lena_links = links_of(await mail_to(stack, lena["email"], "New mentoring match proposed"))
        jo_links = links_of(await mail_to(stack, jo["email"], "New mentoring match proposed"))
        assert set(lena_links) == set(jo_links) == {"accept", "decline"}
        assert lena_links["accept"].startswith(f"{notifier}/links/accept/")
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="the proposal")
        match_id = of_org(tap.events("matches.proposed"), org)[0]["match_id"]

        # GET shows the confirmation page and changes nothing (mail scanners prefetch links).
        page = await web.get(lena_links["accept"])
        assert page.status_code == 200 and "<form method=\"post\">" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert (await web.get(lena_links["decline"])).status_code == 200

        # A tampered link gets a clear page and changes nothing.
        token = lena_links["accept"].rsplit("/", 1)[1]
        tampered = lena_links["accept"][: -len(token)] + token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
        assert (await web.get(tampered)).status_code == 400
        refused = await web.post(tampered)
        assert refused.status_code == 400 and "Nothing was changed" in refused.text
        # An accept token on the decline page is refused too: a link grants only its own action.
        assert (await web.post(lena_links["decline"].rsplit("/", 1)[0] + "/" + token, data={"reason": "timing"})
                ).status_code == 400
        await asyncio.sleep(2)
        assert responded(tap, org) == []

        # POST twice, and a race of two: exactly one matches.responded.
        first = await web.post(lena_links["accept"])
        assert first.status_code == 200 and "you accepted this match" in first.text
        race = await asyncio.gather(*(web.post(lena_links["accept"]) for _ in range(2)))
        assert [r.status_code for r in race] == [409, 409] and "already used" in race[0].text
        after_decline = await web.post(lena_links["decline"], data={"reason": "timing"})
        assert after_decline.status_code == 409
        assert (await web.get(lena_links["accept"])).status_code == 409
        await tap.wait_for(lambda t: responded(t, org), what="lena's answer")

        # Jo's first click is a race of two POSTs; one wins, and both partners accepting makes the match.
        jo_race = await asyncio.gather(*(web.post(jo_links["accept"]) for _ in range(3)))
        assert sorted(r.status_code for r in jo_race) == [200, 409, 409]
        await tap.wait_for(lambda t: of_org(t.events("matches.accepted"), org), what="matches.accepted")
        await asyncio.sleep(2)
        answers = responded(tap, org)
        assert sorted((a["person_id"], a["decision"]) for a in answers) == sorted(
            [(lena["person_id"], "accept"), (jo["person_id"], "accept")])
        slot = f"respond|{org}|{match_id}||{lena['person_id']}"
        assert str(uuid.uuid5(LINK_NAMESPACE, slot)) in {a["event_id"] for a in answers}

        # The schedule mail carries an end link; ending publishes once, with the reason and the note.
        schedule_mail = await mail_to(stack, jo["email"], "Your mentoring sessions")
        end = links_of(schedule_mail)["end"]
        assert "Why do you end it?" in (await web.get(end)).text
        assert (await web.post(end, data={"reason": "bored"})).status_code == 400
        assert (await web.post(end, data={"reason": "goals_met", "note": "we did it"})).status_code == 200
        assert (await web.post(end, data={"reason": "schedule"})).status_code == 409
        await tap.wait_for(lambda t: of_org(t.events("partnerships.end-requested"), org), what="the end request")
        await asyncio.sleep(1)
        [ended] = of_org(tap.events("partnerships.end-requested"), org)
        assert (ended["person_id"], ended["reason"], ended["note"]) == (jo["person_id"], "goals_met", "we did it")

    log = stack.log_of("notifier").read_text()
    for url in [*lena_links.values(), *jo_links.values(), end]:
        assert url.rsplit("/", 1)[1] not in log
    assert "link.answered" in log


async def test_checkin_requests_and_nudges_reach_both_partners_with_working_links(stack):
    from datetime import UTC, datetime, timedelta

    from shared.contract import ProfileChanged

    org = f"org-{uuid.uuid4().hex[:6]}"
    ana = profile(org, f"ana-{org}", offers=["sql"], wants=["excel"])
    bo = profile(org, f"bo-{org}", offers=["excel"], wants=["sql"])
    pair = {"org_id": org, "match_id": f"m-{org}", "program_id": "pilot", "person_a": ana["person_id"],
            "person_b": bo["person_id"]}
    ended = datetime.now(UTC) - timedelta(minutes=5)
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["sessions.checked-in"]) as tap, \
            httpx.AsyncClient(timeout=10) as web:
        for p in (ana, bo):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        await fe.publish("checkins.requested", {
            **pair, "session_id": f"m-{org}-s02", "teacher": ana["person_id"], "learner": bo["person_id"],
            "starts_at": (ended - timedelta(hours=1)).isoformat(), "ends_at": ended.isoformat()})
        await fe.publish("partnerships.flagged", {**pair, "kind": "one_sided", "reason": "x",
                                                  "neglected": {"teacher": bo["person_id"],
                                                                "learner": ana["person_id"]},
                                                  "neglected_goals": ["get better at excel"]})
        await fe.publish("partnerships.flagged", {**pair, "kind": "fizzling", "reason": "two missed"})
        for person in (ana, bo):
            checkin = await mail_to(stack, person["email"], "How did your session with")
            assert {"check-in"} == set(links_of(checkin))
            await mail_to(stack, person["email"], "Your next session with")
            fizzling = await mail_to(stack, person["email"], "Time to meet")
            assert set(links_of(fizzling)) == {"end"}
        swap = (await mail_to(stack, bo["email"], "Your next session with")).get_body(("plain",)).get_content()
        assert "you'll teach" in " ".join(swap.split()) and "get better at excel" in swap

        text = (await mail_to(stack, bo["email"], "How did your session with")).get_body(("plain",)).get_content()
        moved = next(u for u in re.findall(r"\S+/links/check-in/\S+", text) if u.endswith("happened=moved"))
        page = await web.get(moved)
        assert page.status_code == 200 and 'value="moved" required checked' in page.text
        for _ in range(2):
            await web.post(moved, data={"happened": "moved"})
        await tap.wait_for(lambda t: of_org(t.events("sessions.checked-in"), org), what="the check-in")
        await asyncio.sleep(1)
        [checked_in] = of_org(tap.events("sessions.checked-in"), org)
        assert (checked_in["person_id"], checked_in["session_id"], checked_in["happened"]) == (
            bo["person_id"], f"m-{org}-s02", "moved")
