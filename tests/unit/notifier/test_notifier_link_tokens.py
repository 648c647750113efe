"""Signed one-click links: what a link grants, when it stops working, and the event its answer publishes."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ANA, BO, ORG, PAIR

from services.notifier.domain.links import (
    DECLINE_REASONS,
    ExpiredLink,
    InvalidAnswer,
    LinkClaims,
    LinkIssuer,
    LinkSigner,
    Purpose,
    TamperedLink,
    answer_event,
)
from shared.contract import EndRequested, MatchResponded, SessionCheckedIn

SECRET = "unit-test-secret-0123456789"
NOW = datetime(2027, 1, 12, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


def claims(purpose: Purpose = Purpose.ACCEPT, **over) -> LinkClaims:
    fields = dict(purpose=purpose, org_id=ORG, person_id=ANA, match_id="m-1", expires_at=LATER)
    if purpose is Purpose.CHECK_IN:
        fields["session_id"] = "s-2"
    return LinkClaims(**{**fields, **over})


@pytest.fixture
def signer() -> LinkSigner:
    return LinkSigner(SECRET)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_signed_link_round_trips_its_org_person_match_session_and_expiry(signer, purpose):
    original = claims(purpose)
    assert signer.verify(purpose, signer.sign(original), NOW) == original


def test_a_tampered_link_is_refused(signer):
    token = signer.sign(claims())
    payload, _, rest = token.partition(".")
    flipped = ("A" if payload[0] != "A" else "B") + payload[1:]
    with pytest.raises(TamperedLink):
        signer.verify(Purpose.ACCEPT, f"{flipped}.{rest}", NOW)
    with pytest.raises(TamperedLink):
        signer.verify(Purpose.ACCEPT, token[:-2], NOW)
    with pytest.raises(TamperedLink):
        signer.verify(Purpose.ACCEPT, "not-a-link", NOW)


def test_a_link_rewritten_for_another_person_is_refused(signer):
    """The payload is readable (base64 JSON), so someone may edit it; the signature then fails."""
    token = signer.sign(claims())
    payload, _, rest = token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data["p"] == ANA
    forged = base64.urlsafe_b64encode(json.dumps({**data, "p": BO}).encode()).decode().rstrip("=")
    with pytest.raises(TamperedLink):
        signer.verify(Purpose.ACCEPT, f"{forged}.{rest}", NOW)


def test_a_link_signed_with_another_secret_is_refused(signer):
    with pytest.raises(TamperedLink):
        signer.verify(Purpose.ACCEPT, LinkSigner("another-secret-0123456789").sign(claims()), NOW)


def test_a_link_is_refused_once_expired(signer):
    token = signer.sign(claims(expires_at=LATER))
    assert signer.verify(Purpose.ACCEPT, token, LATER - timedelta(seconds=1))
    with pytest.raises(ExpiredLink):
        signer.verify(Purpose.ACCEPT, token, LATER)


@pytest.mark.parametrize("wrong", [Purpose.DECLINE, Purpose.CHECK_IN, Purpose.END])
def test_a_link_grants_only_its_own_purpose(signer, wrong):
    with pytest.raises(TamperedLink):
        signer.verify(wrong, signer.sign(claims(Purpose.ACCEPT)), NOW)


def test_accept_and_decline_answer_one_question_so_they_share_one_event_id():
    accept, decline = claims(Purpose.ACCEPT), claims(Purpose.DECLINE)
    assert accept.slot == decline.slot
    assert accept.event_id == decline.event_id
    assert claims(Purpose.ACCEPT, person_id=BO).event_id != accept.event_id
    assert claims(Purpose.ACCEPT, org_id="other").event_id != accept.event_id
    assert claims(Purpose.END).event_id != accept.event_id
    assert claims(Purpose.CHECK_IN).event_id != claims(Purpose.CHECK_IN, session_id="s-3").event_id


def test_the_answer_events_carry_the_links_identity_and_the_form():
    accept = answer_event(claims(Purpose.ACCEPT), {}, NOW)
    assert isinstance(accept, MatchResponded)
    assert (accept.org_id, accept.match_id, accept.person_id, accept.decision, accept.reason) == (
        ORG, "m-1", ANA, "accept", None)
    assert accept.event_id == claims().event_id
    decline = answer_event(claims(Purpose.DECLINE), {"reason": "timing"}, NOW)
    assert (decline.decision, decline.reason) == ("decline", "timing")
    checkin = answer_event(
        claims(Purpose.CHECK_IN), {"happened": "yes", "learned": "4", "helped": "", "note": " ok "}, NOW
    )
    assert isinstance(checkin, SessionCheckedIn)
    assert (
        (checkin.session_id, checkin.happened, checkin.learned, checkin.helped, checkin.note)
        == ("s-2", "yes", 4, None, "ok")
    )
    end = answer_event(claims(Purpose.END), {"reason": "goals_met"}, NOW)
    assert isinstance(end, EndRequested) and end.reason == "goals_met" and end.note is None


@pytest.mark.parametrize("purpose, form", [
    (Purpose.DECLINE, {}),
    (Purpose.DECLINE, {"reason": "I just don't"}),
    (Purpose.CHECK_IN, {"learned": "4"}),
    (Purpose.CHECK_IN, {"happened": "yes", "learned": "9"}),
    (Purpose.CHECK_IN, {"happened": "yes", "note": "x" * 5000}),
    (Purpose.END, {"reason": "bored"}),
])
def test_a_form_that_does_not_answer_the_question_is_invalid(purpose, form):
    with pytest.raises(InvalidAnswer):
        answer_event(claims(purpose), form, NOW)


def test_decline_reasons_are_the_three_offered():
    assert DECLINE_REASONS == ("not relevant to my goals", "timing", "other")


def test_issued_urls_point_under_the_public_url_and_verify_for_their_purpose(signer):
    issuer = LinkIssuer(signer, "https://mentoring.example/", timedelta(days=14))
    urls = issuer.respond(ORG, ANA, "m-1", LATER)
    assert urls["accept"].startswith("https://mentoring.example/links/accept/")
    assert urls["decline"].startswith("https://mentoring.example/links/decline/")
    token = urls["decline"].rsplit("/", 1)[1]
    assert signer.verify(Purpose.DECLINE, token, NOW).expires_at == LATER
    checkins = issuer.check_in(ORG, BO, "m-1", "s-2", NOW)
    ratings = {f"{q}-{n}" for q in ("learned", "helped") for n in range(1, 6)}
    assert set(checkins) == {"yes", "no", "moved"} | ratings and checkins["moved"].endswith("?happened=moved")
    assert checkins["learned-4"].endswith("?happened=yes&learned=4")
    token = checkins["yes"].split("/")[-1].split("?")[0]
    got = signer.verify(Purpose.CHECK_IN, token, NOW)
    assert (got.person_id, got.session_id, got.expires_at) == (BO, "s-2", NOW + timedelta(days=14))
    assert PAIR["match_id"] == got.match_id
