import html
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.notifier.domain import Background, Contact, recipients, render
from shared.contract.events import MatchAccepted, MatchDeclined, MatchWithdrawn, ProgramConfigured

PAIR_KINDS = [
    "match_proposed", "match_accepted", "match_declined", "match_withdrawn", "schedule_created",
    "schedule_updated", "schedule_cancelled", "schedule_unschedulable", "session_upcoming",
]


def visible(markup: str) -> str:
    """The words a reader sees in an HTML part."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("kind", PAIR_KINDS)
def test_every_pair_template_renders_both_parts_for_both_people(kind, make, ana, bo, contacts):
    event = make.events[kind]()
    assert recipients(event) == [ana.person_id, bo.person_id]
    for me, partner in ((ana, bo), (bo, ana)):
        message = render(event, me, contacts)
        assert message is not None and message.kind == kind and message.person_id == me.person_id
        assert message.subject and "\n" not in message.subject
        assert partner.display_name in message.subject
        assert f"Hi {me.display_name}," in message.text
        assert partner.display_name in message.text and partner.display_name in visible(message.html)
        assert message.html.lstrip().startswith("<!DOCTYPE html>")
        assert message.data["event_type"] == event.event_type


@pytest.mark.parametrize("kind", ["match_proposed", "match_accepted"])
def test_match_messages_say_what_each_partner_gains_from_their_own_side(kind, make, ana, bo, contacts):
    event = make.events[kind]()
    for_ana, for_bo = render(event, ana, contacts), render(event, bo, contacts)
    ana_says = "You'll help Bo Chen with social media strategy; Bo Chen will help you with leading a team."
    bo_says = "You'll help Ana Silva with leading a team; Ana Silva will help you with social media strategy."
    assert ana_says in one_line(for_ana.text) and ana_says in visible(for_ana.html)
    assert bo_says in one_line(for_bo.text) and bo_says in visible(for_bo.html)
    assert "your goal: run my first team offsite" in for_ana.text
    assert "your goal: grow the team's LinkedIn reach" in for_bo.text


def test_ended_matches_use_the_would_have_form(make, ana, contacts):
    for kind in ("match_declined", "match_withdrawn"):
        text = one_line(render(make.events[kind](), ana, contacts).text)
        assert ("You would have helped Bo Chen with social media strategy; "
                "Bo Chen would have helped you with leading a team.") in text


def test_reciprocal_sentence_joins_several_skills_and_skips_an_empty_side(make, ana, bo, contacts):
    from shared.contract.events import Teaching

    extra = [Teaching(skill="leading a team", goal="g1"), Teaching(skill="budgeting", goal="g2"),
             Teaching(skill="hiring", goal="g3")]
    event = make.outcome(MatchAccepted, b_teaches_a=extra, a_teaches_b=[])
    text = one_line(render(event, ana, contacts).text)
    assert "Bo Chen will help you with leading a team, budgeting and hiring." in text
    assert "You'll help" not in text


def test_proposal_is_a_call_to_action_naming_the_match_with_a_local_deadline(make, ana, bo, contacts):
    event = make.proposed(match_id="m-42")
    text = render(event, ana, contacts).text
    assert "accept or decline match m-42 by Tuesday 19 January 2027, 12:00 (America/New_York, EST)" in text
    assert "by Tuesday 19 January 2027, 17:00 (Europe/London, GMT)" in render(event, bo, contacts).text
    assert render(event, ana, contacts).data["match_id"] == "m-42"


def test_decline_reason_is_not_passed_on_but_withdrawal_reason_is(make, ana, contacts):
    declined = render(make.outcome(MatchDeclined, reason="I don't like them"), ana, contacts)
    assert "like them" not in declined.text and "like them" not in declined.html
    withdrawn = render(make.events["match_withdrawn"](), ana, contacts)
    assert "has been withdrawn because the proposal expired before you both accepted it." in one_line(withdrawn.text)


@pytest.mark.parametrize(("reason", "for_ana"), [
    ("no_shared_language: ['en'] vs ['fr']", "you no longer share a language"),
    ("p-bo left the program", "Bo Chen left the programme"),
    ("p-ana left the program", "you left the programme"),
    ("inactive: p-bo", "Bo Chen is no longer taking part"),
    ("no_capacity: p-bo has 2 of 2 partners", "Bo Chen already has as many partners as they asked for"),
    ("not_in_program: p-ana is not in prog-1", "you are no longer in this programme"),
    ("insufficient_overlap: 30 < 60 minutes in the worst week; no_shared_meeting_mode: in_person needs the same site",
     "your available times no longer overlap enough for a full session and you no longer share a way to meet"),
])
def test_withdrawal_reasons_are_plain_words_without_ids_or_codes(reason, for_ana, make, ana, contacts):
    message = render(make.outcome(MatchWithdrawn, reason=reason), ana, contacts)
    assert f"withdrawn because {for_ana}." in one_line(message.text)
    assert f"withdrawn because {for_ana}." in visible(message.html)
    for raw in ("p-bo", "p-ana", "prog-1", "[", "_", " < "):
        assert raw not in message.text.replace("(match m-1)", ""), raw


@pytest.mark.parametrize("reason", ["", "different_org: acme / other / program acme", "something new: x"])
def test_an_unknown_withdrawal_reason_gives_a_general_sentence(reason, make, ana, contacts):
    message = render(make.outcome(MatchWithdrawn, reason=reason), ana, contacts)
    assert (
        "withdrawn: something changed in the programme or in your profiles, so the match no longer fits."
        in one_line(message.text)
    )
    assert "other" not in message.text and "something new" not in message.text


def test_an_accepted_match_that_is_withdrawn_is_a_partnership_that_ended(make, ana, bo, contacts):
    event = make.outcome(MatchWithdrawn, reason="p-bo left the program")
    message = render(event, ana, contacts, Background(partnership=True))
    assert message.kind == "partnership_ended"
    assert message.subject == "Your mentoring partnership with Bo Chen has ended"
    text = one_line(message.text)
    assert "Your mentoring partnership with Bo Chen (match m-1) has ended because Bo Chen left the programme." in text
    assert "You were helping Bo Chen with social media strategy; Bo Chen was helping you with leading a team." in text
    assert "proposed" not in text.lower() and "would have" not in text
    assert "You were helping Bo Chen" in visible(message.html)
    assert render(event, bo, contacts, Background(partnership=True)).kind == "partnership_ended"
    assert render(event, ana, contacts).kind == "match_withdrawn"


def test_html_escapes_names_and_free_text_but_text_keeps_them(make, ana, bo, contacts):
    evil = replace(bo, display_name="<script>alert(1)</script>")
    people = {**contacts, bo.person_id: evil}
    for kind in PAIR_KINDS:
        message = render(make.events[kind](), ana, people)
        assert "<script>" not in message.html, kind
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html, kind
        assert "<script>alert(1)</script>" in message.text, kind
    unschedulable = make.unschedulable().model_copy(update={"suggestion": "<b>widen</b> it"})
    assert "&lt;b&gt;widen&lt;/b&gt; it" in render(unschedulable, ana, contacts).html


def test_partner_name_falls_back_to_their_person_id(make, ana):
    message = render(make.proposed(), ana, {ana.person_id: ana})
    assert "You'll help p-bo with social media strategy" in message.text


def test_schedule_times_are_in_the_recipients_zone_across_dst(make, ana, bo, contacts):
    march = make.session(2, datetime(2027, 3, 16, 13, 30, tzinfo=UTC))  # New York is on EDT, London still on GMT
    event = make.created(sessions=[make.session(1, make.first), march])
    ana_text, bo_text = render(event, ana, contacts).text, render(event, bo, contacts).text
    assert "Tuesday 12 January 2027, 09:30–10:30 (America/New_York, EST)" in ana_text
    assert "Tuesday 16 March 2027, 09:30–10:30 (America/New_York, EDT)" in ana_text
    assert "Tuesday 12 January 2027, 14:30–15:30 (Europe/London, GMT)" in bo_text
    assert "Tuesday 16 March 2027, 13:30–14:30 (Europe/London, GMT)" in bo_text
    assert "16 March 2027, 09:30–10:30 (America/New_York, EDT)" in visible(render(event, ana, contacts).html)


def test_session_crossing_midnight_spells_out_the_end_date(make, contacts):
    tokyo = Contact("p-ana", "acme", "Ana", "a@x.test", timezone="Asia/Tokyo")
    event = make.created(sessions=[make.session(1, datetime(2027, 1, 12, 14, 30, tzinfo=UTC))])
    assert (
        "Tuesday 12 January 2027, 23:30–Wednesday 13 January 2027, 00:30 (Asia/Tokyo, JST)"
        in render(event, tokyo, contacts).text
    )


def test_schedule_says_who_teaches_which_session(make, ana, bo, contacts):
    event = make.created()
    ana_message, bo_message = render(event, ana, contacts), render(event, bo, contacts)
    assert (
        "You'll teach Bo Chen in sessions 2 and 4; Bo Chen will teach you in session 3."
        in one_line(ana_message.text)
    )
    assert (
        "You'll teach Ana Silva in session 3; Ana Silva will teach you in sessions 2 and 4."
        in visible(bo_message.html)
    )
    assert "Kickoff" in ana_message.text and "Goal step 3" in ana_message.text


def test_schedule_messages_carry_the_invite_and_its_method(make, ana, contacts):
    created = render(make.created(), ana, contacts)
    updated = render(make.updated(), ana, contacts)
    cancelled = render(make.updated(cancelled=True, version=3), ana, contacts)
    assert (
        (created.calendar_method, updated.calendar_method, cancelled.calendar_method)
        == ("REQUEST", "REQUEST", "CANCEL")
    )
    assert b"METHOD:REQUEST" in created.calendar and b"METHOD:CANCEL" in cancelled.calendar
    assert cancelled.kind == "schedule_cancelled" and "cancelled" in cancelled.subject.lower()
    assert render(make.unschedulable(), ana, contacts).calendar is None


def test_unschedulable_gives_reason_and_suggestion(make, ana, contacts):
    message = render(make.unschedulable(), ana, contacts)
    assert "Your weekly availability does not overlap." in message.text
    assert "Add a Tuesday morning window." in message.text and "Add a Tuesday morning window." in visible(message.html)


@pytest.mark.parametrize(("number", "for_ana", "for_bo"), [
    (1, "Kickoff: ground rules and both your goals", "Kickoff: ground rules and both your goals"),
    (2, "You teach Bo Chen", "Ana Silva teaches you"),
    (3, "Bo Chen teaches you", "You teach Ana Silva"),
])
def test_reminder_says_who_teaches_whom_and_the_agenda(number, for_ana, for_bo, make, ana, bo, contacts):
    event = make.upcoming()
    background = Background(session=make.session(number, event.starts_at).model_copy(update={"session_id": "s-2"}))
    ana_message, bo_message = render(event, ana, contacts, background), render(event, bo, contacts, background)
    assert f"Session {number}, video call. {for_ana}." in ana_message.text
    assert f"Session {number}, video call. {for_bo}." in visible(bo_message.html)
    agenda = make.session(number, event.starts_at).agenda
    assert all(f"- {item}" in ana_message.text for item in agenda)
    assert all(item in visible(bo_message.html) for item in agenda)
    assert "Tuesday 26 January 2027, 09:30 (America/New_York, EST)" in ana_message.text
    assert ana_message.data["agenda"] == agenda


def test_reminder_ignores_a_session_that_is_not_the_reminded_one(make, ana, contacts):
    other = Background(session=make.session(3, make.first))  # s-3, but the reminder is for s-2
    message = render(make.upcoming(), ana, contacts, other)
    assert "Agenda" not in message.text and "teaches" not in message.text
    assert message == render(make.upcoming(), ana, contacts)


def test_upcoming_session_reminder_is_local(make, ana, bo, contacts):
    assert "Tuesday 26 January 2027, 09:30 (America/New_York, EST)" in render(make.upcoming(), ana, contacts).text
    bo_message = render(make.upcoming(), bo, contacts)
    assert "Tuesday 26 January 2027, 14:30 (Europe/London, GMT)" in bo_message.subject
    assert "starts in 24 hours" in bo_message.text


def test_profile_rejection_lists_errors_in_plain_words(make, ana, contacts):
    event = make.rejected()
    assert recipients(event) == ["p-ana"]
    submitter = Contact("p-ana", "acme", event.display_name, event.email)
    message = render(event, submitter, {})
    assert "Availability, entry 1, end: must be after start (09:00)" in message.text
    assert "Skills you want to learn, entry 2, goal: is required" in message.text
    assert "Availability, entry 1, end" in visible(message.html)
    assert "availability[0]" not in message.text
    assert message.data["errors"][0] == {"field": "availability[0].end", "message": "must be after start (09:00)"}


def test_nothing_for_outsiders_withdrawn_people_or_unknown_events(make, ana, contacts):
    stranger = Contact("p-zed", "acme", "Zed", "z@acme.test")
    assert render(make.proposed(), stranger, contacts) is None
    assert render(make.proposed(), ana.withdrawn(), contacts) is None
    program = ProgramConfigured(org_id="acme", program_id="prog-1", name="P")
    assert recipients(program) == [] and render(program, ana, contacts) is None


def test_rendering_is_deterministic(make, ana, contacts):
    event = make.created()
    assert render(event, ana, contacts) == render(event, ana, contacts)


def test_no_data_crosses_tenants(make, ana, bo, contacts):
    assert render(make.proposed(), replace(ana, org_id="other"), contacts) is None
    message = render(make.proposed(), ana, {**contacts, bo.person_id: replace(bo, org_id="other")})
    assert "Bo Chen" not in message.text and "p-bo" in message.text


def test_every_message_links_to_my_mentoring_when_the_console_is_configured(make, ana, contacts):
    event = make.outcome(MatchWithdrawn, reason="p-bo left the program")
    linked = render(event, ana, contacts, Background(mentoring_url="https://console.example/me"))
    assert "https://console.example/me" in linked.text
    assert 'href="https://console.example/me"' in linked.html
    assert linked.data["mentoring_url"] == "https://console.example/me"
    plain = render(event, ana, contacts)
    assert "/me" not in plain.text and "mentoring_url" not in plain.data
