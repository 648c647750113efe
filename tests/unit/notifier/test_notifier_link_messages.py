"""Messages that carry one-click links, and the nudges of a flagged partnership."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ANA, BO, ORG, PAIR

from services.notifier.domain import Background, recipients, render
from services.notifier.domain.links import LinkIssuer, LinkSigner, Purpose
from shared.contract import CheckInRequested, Direction, PartnershipFlagged

BASE = "https://mentoring.example"
SIGNER = LinkSigner("unit-test-secret-0123456789")
LINKS = Background(links=LinkIssuer(SIGNER, BASE, timedelta(days=14)))
URL = re.compile(re.escape(BASE) + r"/links/([a-z-]+)/([A-Za-z0-9_.-]+)(\?happened=[a-z]+(?:&(?:learned|helped)=\d)?)?")


def links_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in URL.finditer(text)]


def checkin_requested(teacher=BO, learner=ANA) -> CheckInRequested:
    return CheckInRequested(**PAIR, session_id="s-2", teacher=teacher, learner=learner,
                            starts_at=datetime(2027, 1, 26, 14, 30, tzinfo=UTC),
                            ends_at=datetime(2027, 1, 26, 15, 30, tzinfo=UTC))


def flagged(kind: str, **over) -> PartnershipFlagged:
    return PartnershipFlagged(**PAIR, kind=kind, reason="p-bo has taught 1 of the 5 sessions held", **over)


def test_a_proposal_carries_an_accept_and_a_decline_link_for_its_recipient_only(make, ana, bo, contacts):
    event = make.proposed()
    message = render(event, ana, contacts, LINKS)
    found = links_in(message.text)
    assert [p for p, _ in found] == ["accept", "decline"]
    assert [p for p, _ in links_in(message.html)] == ["accept", "decline"]
    for purpose, token in found:
        claims = SIGNER.verify(Purpose(purpose), token, event.occurred_at)
        assert (claims.org_id, claims.person_id, claims.match_id, claims.expires_at) == (
            ORG, ANA, "m-1", event.expires_at)
    assert message.data["links"]["accept"] in message.text
    assert SIGNER.verify(Purpose.ACCEPT, links_in(render(event, bo, contacts, LINKS).text)[0][1],
                         event.occurred_at).person_id == BO


def test_without_a_link_issuer_messages_have_no_links(make, ana, contacts):
    message = render(make.proposed(), ana, contacts)
    assert "/links/" not in message.text and "links" not in message.data


def test_the_schedule_mail_carries_an_end_link_valid_past_the_last_session(make, ana, contacts):
    event = make.created()
    message = render(event, ana, contacts, LINKS)
    [(purpose, token)] = links_in(message.text)
    assert purpose == "end" and "end this partnership" in message.html
    last_end = max(s.ends_at for s in event.sessions)
    assert SIGNER.verify(Purpose.END, token, last_end + timedelta(days=13)).person_id == ANA
    cancelled = render(make.updated(cancelled=True, version=3), ana, contacts, LINKS)
    assert links_in(cancelled.text) == []


def test_a_checkin_request_goes_to_both_with_yes_no_moved_links_for_that_session(ana, bo, contacts):
    event = checkin_requested()
    assert recipients(event) == [ANA, BO]
    message = render(event, ana, contacts, LINKS)
    assert message.kind == "checkin_requested"
    assert "Bo Chen taught you" in message.text
    assert "Tuesday 26 January 2027, 09:30–10:30 (America/New_York, EST)" in message.text
    assert [m.group(3) for m in URL.finditer(message.text)] == [
        "?happened=yes", "?happened=no", "?happened=moved",
        *(f"?happened=yes&{q}={n}" for q in ("learned", "helped") for n in range(1, 6))]
    claims = SIGNER.verify(Purpose.CHECK_IN, links_in(message.text)[0][1], event.occurred_at)
    assert (claims.person_id, claims.session_id) == (ANA, "s-2")
    assert "You taught Ana Silva." in render(event, bo, contacts, LINKS).text


def test_a_one_sided_nudge_says_the_next_session_swaps_and_which_goals(ana, bo, contacts):
    event = flagged("one_sided", neglected=Direction(teacher=BO, learner=ANA),
                    neglected_goals=["run my first team offsite"])
    teacher = " ".join(render(event, bo, contacts, LINKS).text.split())
    learner = " ".join(render(event, ana, contacts, LINKS).text.split())
    assert "next session swaps direction: you'll teach Ana Silva" in teacher
    assert "this goal of Ana Silva's: - run my first team offsite" in teacher
    assert "next session swaps direction: Bo Chen will teach you" in learner
    assert "this goal of yours: - run my first team offsite" in learner
    assert "p-bo" not in teacher + learner  # the progress service's reason names people by id
    assert links_in(teacher) == []


def test_a_fizzling_nudge_prompts_to_meet_or_end_with_the_end_link(ana, contacts):
    event = flagged("fizzling")
    message = render(event, ana, contacts, LINKS)
    text = " ".join(message.text.split())
    assert message.subject == "Time to meet Bo Chen again?"
    assert "pick a time this week" in text and "end the partnership" in text
    [(purpose, token)] = links_in(message.text)
    assert purpose == "end"
    assert SIGNER.verify(Purpose.END, token, event.occurred_at + timedelta(days=13)).match_id == "m-1"


@pytest.mark.parametrize("build", [checkin_requested, lambda: flagged("fizzling"), lambda: flagged("one_sided")])
def test_new_messages_escape_names_in_html(build, ana, bo, contacts):
    from dataclasses import replace
    evil = {**contacts, BO: replace(bo, display_name="<script>x</script>")}
    html = render(build(), ana, evil, LINKS).html
    assert "<script>" not in html and "&lt;script&gt;" in html
