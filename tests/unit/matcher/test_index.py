import random
from dataclasses import replace

import pytest

from services.matcher.domain import best_partner, person_from_profile, program_from_event
from services.matcher.domain.generator import generate_cohort, generate_program
from services.matcher.domain.index import PoolIndex


@pytest.fixture(scope="module")
def world():
    program = program_from_event(generate_program(cross_department="preferred"))
    return [person_from_profile(e) for e in generate_cohort(160, 5)], program


def same(a, b):
    if a is None or b is None:
        return a is b
    return a.pair == b.pair and a.score == pytest.approx(b.score, rel=1e-12)


def test_index_agrees_with_the_pairwise_best_partner(world):
    people, program = world
    rng = random.Random(1)
    load = {p.person_id: rng.choice((0, 0, 1)) for p in people}
    blocked = {frozenset((rng.choice(people).person_id, rng.choice(people).person_id)) for _ in range(60)}
    idx = PoolIndex(program, people)
    pool = {p.person_id: p for p in people}
    for step in range(40):  # profile changes and withdrawals, then rescoring
        p = rng.choice(list(pool.values()))
        if step % 7 == 3:
            del pool[p.person_id]
            idx.remove(p.person_id)
            continue
        other = rng.choice(people)
        changed = replace(p, offers=other.offers, availability=other.availability, timezone=other.timezone)
        pool[p.person_id] = changed
        idx.upsert(changed)
    hits = 0
    for p in rng.sample(list(pool.values()), 40):
        expected = best_partner(p, pool.values(), program, blocked_pairs=blocked, load=load)
        got = idx.best_partner(p, blocked_pairs=blocked, load=load)
        assert same(got, expected), p.person_id
        hits += expected is not None
    assert hits >= 10


def test_ranked_lists_all_eligible_partners_in_order(alice, bob, make, program):
    carol = replace(bob, person_id="carol", offers=(("social media", 2),))
    idx = PoolIndex(program, [alice, bob, carol, make("dan", languages=frozenset({"fr"}))])
    ranked = idx.ranked(alice)
    assert [pid for pid, _ in ranked] == ["bob", "carol"]
    assert ranked[0][1] > ranked[1][1]
    assert idx.ranked(alice, load={"bob": 1}) == ranked[1:]
    assert idx.ranked(alice, load={"alice": 1}) == []
    idx.upsert(replace(alice, manager_id="bob"))
    assert [pid for pid, _ in idx.ranked(replace(alice, manager_id="bob"))] == ["carol"]


def test_changes_are_applied_in_place_and_removed_rows_are_reused(world):
    people, program = world
    idx = PoolIndex(program, people[:100])
    rows = idx.n
    rng = random.Random(2)
    for _ in range(300):  # many more changes than the pool has rows: nothing grows, nothing is rebuilt
        p, donor = rng.choice(people[:100]), rng.choice(people)
        idx.upsert(replace(p, offers=donor.offers, wants=donor.wants, languages=donor.languages,
                           interests=donor.interests))
    assert idx.n == rows and len(idx) == 100
    idx.remove(people[0].person_id)
    idx.remove(people[0].person_id)  # twice: no-op
    assert people[0].person_id not in idx and idx.get(people[0].person_id) is None and len(idx) == 99
    idx.upsert(people[100])  # takes the removed row
    assert idx.n == rows and idx.get(people[100].person_id) == people[100]
    idx.upsert(people[0])
    assert idx.n == rows + 1 and len(idx) == 101
    idx.rebuild()  # kept for compatibility: a no-op
    pool = [idx.get(pid) for pid in idx.row]
    for p in pool[:30]:
        assert same(idx.best_partner(p), best_partner(p, pool, program))


def test_long_lists_widen_the_padded_columns(alice, bob, make, program):
    idx = PoolIndex(program, [alice, bob])
    many = tuple((s, "g", 1) for s in ("a1", "a2", "a3", "a4", "a5", "a6", "leadership"))
    polyglot = replace(bob, person_id="poly", wants=many, offers=(("social media", 3), ("x1", 2), ("x2", 2),
                       ("x3", 2), ("x4", 2), ("x5", 2)), languages=frozenset({"fr", "de", "it", "en"}))
    idx.upsert(polyglot)
    got = dict(idx.ranked(alice))
    assert set(got) == {"bob", "poly"}
    assert got["poly"] == pytest.approx(best_partner(alice, [polyglot], program).score, rel=1e-12)
    assert dict(idx.ranked(polyglot)) == pytest.approx({"alice": got["poly"]}, rel=1e-12)
