"""The Match aggregate: every legal transition and the events it returns; every illegal one refused."""

from datetime import UTC, datetime, timedelta

import pytest

from services.matcher.domain import Program, Scored
from services.matcher.domain.match import OPEN, IllegalTransition, Match, MatchStatus
from shared.contract import MatchAccepted, MatchDeclined, MatchProposed, MatchWithdrawn, Teaching

NOW = datetime(2027, 1, 11, 9, tzinfo=UTC)
PROGRAM = Program(org_id="acme", program_id="p1", proposal_ttl_days=7)
SCORED = Scored("ana", "bo", 0.8, 0.9, 0.7, a_teaches_b=[Teaching(skill="sql", goal="learn sql")],
                b_teaches_a=[Teaching(skill="go", goal="learn go")])


def proposed() -> Match:
    match, _ = Match.propose(PROGRAM, SCORED, NOW, "corr-1")
    return match


def in_status(status: MatchStatus) -> Match:
    match = proposed()
    if status is MatchStatus.ACCEPTED:
        match.accept("ana", NOW)
        match.accept("bo", NOW)
    elif status is MatchStatus.DECLINED:
        match.decline("ana", None, NOW)
    elif status is MatchStatus.EXPIRED:
        match.expire(match.expires_at)
    elif status is MatchStatus.WITHDRAWN:
        match.withdraw("bo left the program", NOW)
    elif status is MatchStatus.ENDED:
        match.accept("ana", NOW)
        match.accept("bo", NOW)
        match.end("bo", "goals_met", NOW)
    assert match.status is status
    return match


def test_a_proposal_carries_the_pair_its_expiry_and_the_cause_correlation():
    match, [event] = Match.propose(PROGRAM, SCORED, NOW, "corr-1")
    assert isinstance(event, MatchProposed) and event.correlation_id == "corr-1"
    assert (event.match_id, event.person_a, event.person_b) == (match.match_id, "ana", "bo")
    assert match.status is MatchStatus.PROPOSED and match.expires_at == NOW + timedelta(days=7)
    assert event.expires_at == match.expires_at and event.a_teaches_b == SCORED.a_teaches_b


def test_the_first_acceptance_waits_and_the_second_makes_the_partnership():
    match = proposed()
    assert match.accept("ana", NOW) == [] and match.status is MatchStatus.PROPOSED
    assert match.accept("ana", NOW) == [] and match.accepted_by == ["ana"]  # the same click twice
    [event] = match.accept("bo", NOW + timedelta(hours=1), "corr-2")
    assert isinstance(event, MatchAccepted) and event.reason == "both accepted" and event.correlation_id == "corr-2"
    assert match.status is MatchStatus.ACCEPTED and match.accepted_by == ["ana", "bo"]
    assert match.updated_at == NOW + timedelta(hours=1)


def test_a_decline_keeps_the_persons_reason_and_publishes_declined():
    match = proposed()
    [event] = match.decline("bo", "too busy", NOW)
    assert isinstance(event, MatchDeclined) and event.reason == "declined"
    assert (match.status, match.reason) == (MatchStatus.DECLINED, "too busy")


def test_expiry_is_due_only_at_the_expiry_time():
    match = proposed()
    with pytest.raises(IllegalTransition, match="expires at"):
        match.expire(match.expires_at - timedelta(seconds=1))
    [event] = match.expire(match.expires_at)
    assert isinstance(event, MatchWithdrawn) and event.reason == "proposal expired" and event.correlation_id is None
    assert not event.partnership_ended and match.status is MatchStatus.EXPIRED


def test_withdrawing_a_proposal_and_withdrawing_a_partnership_differ():
    [proposal] = proposed().withdraw("bo left the program", NOW)
    assert not proposal.partnership_ended
    partnership = in_status(MatchStatus.ACCEPTED)
    [ended] = partnership.withdraw("bo left the program", NOW)
    assert ended.partnership_ended and partnership.status is MatchStatus.ENDED


def test_a_partner_ends_a_partnership_with_a_reason_code():
    match = in_status(MatchStatus.ACCEPTED)
    [event] = match.end("ana", "goals_met", NOW)
    assert isinstance(event, MatchWithdrawn) and event.partnership_ended and event.reason == "goals_met"


ILLEGAL = [
    (MatchStatus.ACCEPTED, lambda m: m.accept("ana", NOW)),
    (MatchStatus.ACCEPTED, lambda m: m.decline("ana", None, NOW)),
    (MatchStatus.ACCEPTED, lambda m: m.expire(m.expires_at)),
    (MatchStatus.PROPOSED, lambda m: m.end("ana", "goals_met", NOW)),
    *[(final, action) for final in (MatchStatus.DECLINED, MatchStatus.EXPIRED, MatchStatus.WITHDRAWN,
                                    MatchStatus.ENDED)
      for action in (lambda m: m.accept("ana", NOW), lambda m: m.decline("ana", None, NOW),
                     lambda m: m.expire(m.expires_at), lambda m: m.end("ana", "x", NOW),
                     lambda m: m.withdraw("x", NOW))],
]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_an_illegal_transition_is_refused_and_changes_nothing(status, action):
    match = in_status(status)
    before = match.to_doc()
    with pytest.raises(IllegalTransition):
        action(match)
    assert match.to_doc() == before


@pytest.mark.parametrize("action", [
    lambda m: m.accept("cy", NOW), lambda m: m.decline("cy", None, NOW),
])
def test_only_the_two_people_answer_a_proposal(action):
    with pytest.raises(IllegalTransition, match="cy is not one of the pair"):
        action(proposed())


def test_only_a_partner_ends_a_partnership():
    with pytest.raises(IllegalTransition, match="cy is not one of the pair"):
        in_status(MatchStatus.ACCEPTED).end("cy", "goals_met", NOW)


@pytest.mark.parametrize("status", list(MatchStatus))
def test_the_storage_shape_round_trips(status):
    match = in_status(status)
    assert Match.from_doc(match.to_doc()) == match
    assert match.is_open == (status in OPEN)


def test_a_withdrawal_for_an_erasure_names_the_erased_member_only():
    [event] = in_status(MatchStatus.ACCEPTED).withdraw("a former participant left", NOW, erased_person_id="ana")
    assert event.erased_person_id == "ana" and event.partnership_ended
    with pytest.raises(IllegalTransition, match="cy is not one of the pair"):
        proposed().withdraw("x", NOW, erased_person_id="cy")
