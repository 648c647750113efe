from dataclasses import replace

import pytest

from services.matcher.domain import ineligibility, reason_code
from services.matcher.domain.rules import REASON_CODES


def codes(a, b, program, **kwargs) -> set[str]:
    return {reason_code(r) for r in ineligibility(a, b, program, **kwargs)}


def test_base_pair_is_eligible(alice, bob, program):
    assert ineligibility(alice, bob, program) == []
    assert ineligibility(bob, alice, program) == []


def test_reasons_are_stable_and_coded(alice, bob, program):
    bob = replace(bob, languages=frozenset({"fr"}), active=False)
    reasons = ineligibility(alice, bob, program)
    assert reasons == ineligibility(alice, bob, program)
    assert {reason_code(r) for r in reasons} == {"no_shared_language", "inactive"}
    assert all(reason_code(r) in REASON_CODES for r in reasons)


def test_same_person(alice, program):
    assert "same_person" in codes(alice, alice, program)


def test_different_org(alice, bob, program):
    assert "different_org" in codes(alice, replace(bob, org_id="globex"), program)
    assert "different_org" in codes(alice, bob, replace(program, org_id="globex"))


def test_not_in_program(alice, bob, program):
    assert "not_in_program" in codes(alice, replace(bob, program_ids=("p2",)), program)
    assert "not_in_program" in codes(replace(alice, program_ids=()), bob, program)


@pytest.mark.parametrize("who", ["a", "b"])
def test_inactive(alice, bob, program, who):
    a, b = (replace(alice, active=False), bob) if who == "a" else (alice, replace(bob, active=False))
    assert codes(a, b, program) == {"inactive"}


@pytest.mark.parametrize("direction", ["a_manages_b", "b_manages_a"])
def test_manager_and_direct_report(alice, bob, program, direction):
    if direction == "a_manages_b":
        bob = replace(bob, manager_id="alice")
    else:
        alice = replace(alice, manager_id="bob")
    assert codes(alice, bob, program) == {"manager_relationship"}


def test_shared_manager_is_fine(alice, bob, program):
    assert codes(replace(alice, manager_id="carol"), replace(bob, manager_id="carol"), program) == set()


def test_previously_paired(alice, bob, program):
    blocked = {frozenset(("bob", "alice"))}
    assert codes(alice, bob, program, blocked_pairs=blocked) == {"previously_paired"}
    assert codes(alice, bob, program, blocked_pairs={frozenset(("alice", "carol"))}) == set()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_capacity_counts_pending_and_active(alice, bob, program, who):
    assert codes(alice, bob, program, load={who: 1}) == {"no_capacity"}
    roomy = replace(alice, max_partners=2), replace(bob, max_partners=2)
    assert codes(*roomy, program, load={who: 1}) == set()
    assert codes(*roomy, program, load={who: 2}) == {"no_capacity"}


def test_shared_language(alice, bob, program):
    assert codes(alice, replace(bob, languages=frozenset({"fr"})), program) == {"no_shared_language"}
    assert codes(alice, replace(bob, languages=frozenset({"fr", "en"})), program) == set()


def test_shared_meeting_mode(alice, bob, program):
    assert codes(alice, replace(bob, meeting_modes=frozenset({"phone"})), program) == {"no_shared_meeting_mode"}


def test_in_person_counts_only_on_the_same_site(alice, bob, program):
    alice = replace(alice, meeting_modes=frozenset({"in_person"}), site="london")
    assert codes(alice, replace(bob, meeting_modes=frozenset({"in_person"}), site="london"), program) == set()
    assert codes(alice, replace(bob, meeting_modes=frozenset({"in_person"}), site="paris"), program) == {
        "no_shared_meeting_mode"
    }
    assert "no_shared_meeting_mode" in codes(
        replace(alice, site=""), replace(bob, meeting_modes=frozenset({"in_person"}), site=""), program
    )


def test_availability_overlap_must_reach_session_minutes(alice, bob, program):
    a = replace(alice, availability=(("mon", "09:00", "10:00"),))
    assert codes(a, replace(bob, availability=(("mon", "09:30", "11:00"),)), program) == {"insufficient_overlap"}
    assert codes(a, replace(bob, availability=(("mon", "09:00", "11:00"),)), program) == set()
    assert codes(a, replace(bob, availability=(("tue", "09:00", "11:00"),)), program) == {"insufficient_overlap"}


def test_overlap_must_be_one_contiguous_slot(alice, bob, program):
    a = replace(alice, availability=(("mon", "09:00", "09:30"), ("mon", "10:00", "10:30")))
    b = replace(bob, availability=(("mon", "09:00", "11:00"),))
    assert codes(a, b, program) == {"insufficient_overlap"}  # 60 minutes a week, but no 60-minute slot


def test_overlap_applies_both_time_zones(alice, bob, program):
    tokyo = replace(alice, timezone="Asia/Tokyo", availability=(("mon", "18:00", "20:00"),))  # 09-11 UTC
    assert codes(tokyo, replace(bob, availability=(("mon", "10:00", "11:00"),)), program) == set()
    assert codes(tokyo, replace(bob, availability=(("mon", "18:00", "20:00"),)), program) == {"insufficient_overlap"}


def test_overlap_across_the_date_line(alice, bob, program):
    auckland = replace(alice, timezone="Pacific/Auckland", availability=(("tue", "07:00", "09:00"),))  # Mon 18-20 UTC
    assert codes(auckland, replace(bob, availability=(("mon", "18:00", "19:00"),)), program) == set()
    assert "insufficient_overlap" in codes(auckland, replace(bob, availability=(("tue", "07:00", "09:00"),)), program)


def test_cross_department_required(alice, bob, program):
    same = replace(bob, department="Engineering")
    required = replace(program, cross_department="required")
    assert codes(alice, same, required) == {"same_department"}
    assert codes(alice, bob, required) == set()
    assert codes(alice, same, program) == set()
    assert codes(alice, same, replace(program, cross_department="any")) == set()


def test_value_must_flow_both_ways(alice, bob, program):
    assert codes(alice, replace(bob, offers=(("python", 5),)), program) == {"no_value"}
    assert codes(alice, replace(bob, wants=(("python", "g", 3),)), program) == {"no_value"}
    assert codes(alice, replace(bob, offers=(), wants=()), program) == {"no_value"}
    assert len(ineligibility(alice, replace(bob, offers=(), wants=()), program)) == 2
