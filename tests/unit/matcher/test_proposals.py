from dataclasses import replace

from services.matcher.domain import best_partner, match_id, score_pair


def test_match_id_is_deterministic_and_order_independent():
    m = match_id("acme", "p1", "alice", "bob")
    assert m == match_id("acme", "p1", "bob", "alice")
    assert m.startswith("m-") and len(m) == 22
    assert m != match_id("acme", "p2", "alice", "bob")
    assert m != match_id("globex", "p1", "alice", "bob")
    assert m != match_id("acme", "p1", "alice", "carol")


def test_best_partner_takes_the_highest_score(alice, bob, program, make):
    weak = make("aaron", department="marketing", offers=(("social media", 2),),
                wants=(("leadership", "g", 2),))
    assert score_pair(alice, weak, program).score < score_pair(alice, bob, program).score
    best = best_partner(alice, [weak, bob, alice], program)
    assert best is not None and best.pair == {"alice", "bob"}


def test_best_partner_skips_ineligible_and_full_people(alice, bob, program, make):
    carol = replace(bob, person_id="carol", offers=(("social media", 3),))
    assert best_partner(alice, [bob, carol], program).pair == {"alice", "bob"}
    assert best_partner(alice, [bob, carol], program, load={"bob": 1}).pair == {"alice", "carol"}
    assert best_partner(alice, [bob, carol], program, blocked_pairs={frozenset(("alice", "bob"))}).pair == {
        "alice", "carol"}
    assert best_partner(alice, [replace(bob, languages=frozenset({"de"}))], program) is None
    assert best_partner(alice, [bob], program, load={"alice": 1}) is None


def test_ties_break_on_the_smaller_person_id(alice, bob, program):
    twins = [replace(bob, person_id=pid) for pid in ("zed", "bob", "mia")]
    assert best_partner(alice, twins, program).partner_of("alice") == "bob"
    assert best_partner(alice, list(reversed(twins)), program).partner_of("alice") == "bob"
