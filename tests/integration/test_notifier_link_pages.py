"""The link pages through the notifier's real HTTP app and its real database (no broker needed:
what a POST publishes is read from the outbox it commits to), with the log output captured."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support import verify_with

from services.notifier.app import SPEC
from services.notifier.domain.links import LinkClaims, LinkIssuer, LinkSigner, Purpose
from services.notifier.settings import NotifierSettings
from shared.bootstrap import bind
from shared.runtime import create_app

SECRET = "integration-link-secret-0123456789"
BASE = "http://links.test"
ISSUER = LinkIssuer(LinkSigner(SECRET), BASE, timedelta(days=14))


@pytest.fixture
async def app(infrastructure, monkeypatch):
    verify_with(infrastructure, monkeypatch)
    settings = NotifierSettings(
        service="notifier", kafka_bootstrap=infrastructure.kafka_bootstrap, mongo_url=infrastructure.mongo_url,
        mongo_db=f"links_{uuid.uuid4().hex[:8]}", link_secret=SECRET,
    )
    app = create_app(SPEC, settings)
    ctx = app.state.ctx
    await ctx.store.ensure_plumbing_indexes()
    await bind(SPEC.setup, app.state.dependencies)()  # as the runtime does at start-up
    yield app
    await ctx.store.client.drop_database(settings.database)
    await ctx.store.close()


@pytest.fixture
async def web(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client


async def outbox(app, topic: str) -> list[dict]:
    return await app.state.ctx.store.db["outbox"].find({"topic": topic}).to_list(None)


def path(url: str) -> str:
    return url.removeprefix(BASE)


async def test_a_checkin_link_shows_its_answer_then_publishes_one_checkin_however_often_confirmed(app, web, capsys):
    org, now = f"org-{uuid.uuid4().hex[:6]}", datetime.now(UTC)
    links = ISSUER.check_in(org, "ana", "m-1", "m-1-s02", now)
    page = await web.get(path(links["moved"]))
    assert page.status_code == 200
    assert 'value="moved" required checked' in page.text and 'name="learned" value="5"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "http" not in page.text.split("<body>")[1]  # no external resources, no links out
    assert await outbox(app, "sessions.checked-in") == []

    bad = await web.post(path(links["yes"]), data={"happened": "yes", "learned": "7"})
    assert bad.status_code == 400 and "1 to 5" in bad.text
    assert await outbox(app, "sessions.checked-in") == []

    form = {"happened": "yes", "learned": "4", "helped": "5", "note": "private <b>words</b>"}
    answers = await asyncio.gather(*(web.post(path(links["yes"]), data=form) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert "&lt;b&gt;" not in "".join(a.text for a in answers)  # the note is never echoed back
    [published] = await outbox(app, "sessions.checked-in")
    claims = LinkClaims(Purpose.CHECK_IN, org, "ana", "m-1", now + timedelta(days=14), "m-1-s02")
    assert published["event_id"] == str(claims.event_id)
    assert b'"note":"private <b>words</b>"' in published["value"] and b'"learned":4' in published["value"]
    [used] = await app.state.ctx.store.db["used_links"].find({"org_id": org}).to_list(None)
    assert "private" not in str(used)
    again = await web.get(path(links["no"]))
    assert again.status_code == 409 and "you said the session happened" in again.text

    logged = capsys.readouterr().out
    assert "link.answered" in logged and "link.already_answered" in logged
    for url in links.values():
        assert path(url).split("?")[0].rsplit("/", 1)[1] not in logged
    assert "private" not in logged


async def test_expired_tampered_and_unknown_links_get_plain_pages_and_change_nothing(app, web):
    org = f"org-{uuid.uuid4().hex[:6]}"
    expired = ISSUER.respond(org, "ana", "m-2", datetime.now(UTC) - timedelta(seconds=1))["accept"]
    for method in ("GET", "POST"):
        page = await web.request(method, path(expired))
        assert page.status_code == 410 and "expired" in page.text and "Nothing was changed" in page.text
    valid = ISSUER.end(org, "ana", "m-2", datetime.now(UTC))
    token = valid.rsplit("/", 1)[1]
    assert (await web.post(path(valid).replace(token, token[::-1]), data={"reason": "left"})).status_code == 400
    assert (await web.post(f"/links/check-in/{token}", data={"happened": "yes"})).status_code == 400
    assert (await web.get(f"/links/admin/{token}")).status_code == 404
    assert await outbox(app, "partnerships.end-requested") == []
    assert await outbox(app, "sessions.checked-in") == []
    assert await app.state.ctx.store.db["used_links"].count_documents({}) == 0


async def test_a_decline_needs_one_of_the_offered_reasons(app, web):
    org = f"org-{uuid.uuid4().hex[:6]}"
    decline = path(ISSUER.respond(org, "bo", "m-3", datetime.now(UTC) + timedelta(days=7))["decline"])
    page = await web.get(decline)
    assert all(r in page.text for r in ("not relevant to my goals", "timing", "other"))
    assert (await web.post(decline, data={})).status_code == 400
    assert (await web.post(decline, data={"reason": "timing"})).status_code == 200
    [published] = await outbox(app, "matches.responded")
    assert b'"decision":"decline"' in published["value"] and b'"reason":"timing"' in published["value"]


async def test_the_notifier_refuses_to_start_without_a_link_secret(infrastructure, monkeypatch):
    verify_with(infrastructure, monkeypatch)
    settings = NotifierSettings(service="notifier", mongo_url=infrastructure.mongo_url,
                                mongo_db=f"links_{uuid.uuid4().hex[:8]}")
    app = create_app(SPEC, settings)
    with pytest.raises(ValueError, match="RECIPROCAL_LINK_SECRET"):
        await bind(SPEC.setup, app.state.dependencies)()
    await app.state.ctx.store.close()
