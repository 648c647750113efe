import random
from dataclasses import replace

import pytest

from services.matcher.domain import best_partner, person_from_profile, program_from_event
from services.matcher.domain import index as index_module
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


@pytest.mark.parametrize("rebuild_after", [0, 10_000])
def test_index_agrees_with_the_pairwise_best_partner(world, monkeypatch, rebuild_after):
    monkeypatch.setattr(index_module, "REBUILD_AFTER", rebuild_after)
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
