"""The kernel itself (`kernel.assess`, `kernel.assess_block`): each hard rule, each bonus, the
harmonic mean, one-sided pairs, the explanation, and the block fast path against the pair path,
including after changes written in place."""

import random
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from services.matcher.domain import kernel as k
from services.matcher.domain.generator import generate_cohort, generate_program
from services.matcher.domain.kernel import Codebook, Columns, assess, assess_block, assess_pair
from services.matcher.domain.model import person_from_profile, program_from_event
from services.matcher.domain.scoring import score_pair


def failed(a, b, program, **kwargs) -> set[str]:
    return {code for code, _ in assess_pair(a, b, program, **kwargs).failed(0)}


def in_block(a, b, program, **kwargs) -> bool:
    """Whether the block path (a against a pool holding b) finds b eligible."""
    book = Codebook(program)
    pool = Columns(book, (b,))
    me = Columns(book, (a,), postings=False)
    result = assess_block(me, np.array([0]), pool, load=kwargs.get("load", {}),
                          blocked=book.pair_keys(kwargs.get("blocked_pairs", ()), touching=a.person_id))
    return bool(result.eligible.any())


# one change to bob (or to the call) breaks exactly one rule
RULES = [
    ("same_person", lambda a, b, p: (m := replace(a, wants=(("leadership", "g", 3),)), m, p, {})),  # values itself
    ("different_org", lambda a, b, p: (a, replace(b, org_id="globex"), p, {})),
    ("not_in_program", lambda a, b, p: (a, replace(b, program_ids=("p2",)), p, {})),
    ("inactive", lambda a, b, p: (a, replace(b, active=False), p, {})),
    ("manager_relationship", lambda a, b, p: (a, replace(b, manager_id="alice"), p, {})),
    ("previously_paired", lambda a, b, p: (a, b, p, {"blocked_pairs": {frozenset(("alice", "bob"))}})),
    ("no_capacity", lambda a, b, p: (a, b, p, {"load": {"bob": 1}})),
    ("no_shared_language", lambda a, b, p: (a, replace(b, languages=frozenset({"fr"})), p, {})),
    ("no_shared_meeting_mode", lambda a, b, p: (a, replace(b, meeting_modes=frozenset({"phone"})), p, {})),
    ("insufficient_overlap", lambda a, b, p: (a, replace(b, availability=(("mon", "09:30", "10:15"),)), p, {})),
    ("same_department", lambda a, b, p: (a, replace(b, department="Engineering"),
                                         replace(p, cross_department="required"), {})),
    ("no_value", lambda a, b, p: (a, replace(b, offers=(("python", 5),)), p, {})),
]


def test_the_base_pair_passes_every_rule(alice, bob, program):
    assert failed(alice, bob, program) == set()
    assert in_block(alice, bob, program)


@pytest.mark.parametrize("code,breaking", RULES, ids=[code for code, _ in RULES])
def test_each_hard_rule_alone_makes_the_pair_ineligible(alice, bob, program, code, breaking):
    a, b, prog, kwargs = breaking(alice, bob, program)
    assert failed(a, b, prog, **kwargs) == {code}
    if code != "same_person":
        assert not in_block(a, b, prog, **kwargs)


def test_rules_about_one_person_name_their_side(alice, bob, program):
    result = assess_pair(alice, replace(bob, active=False, offers=()), program, load={"alice": 1})
    assert ("inactive", "b") in result.failed(0) and ("no_capacity", "a") in result.failed(0)
    assert ("no_value", "b") in result.failed(0) and ("no_value", "a") not in result.failed(0)
    assert [code for code, _ in result.failed(0)] == sorted((c for c, _ in result.failed(0)),
                                                            key=k.REASON_CODES.index)


def test_in_person_needs_the_same_non_empty_site(alice, bob, program):
    a = replace(alice, meeting_modes=frozenset({"in_person"}), site="London")
    b = replace(bob, meeting_modes=frozenset({"in_person"}), site="london")
    assert failed(a, b, program) == set()
    assert failed(a, replace(b, site="paris"), program) == {"no_shared_meeting_mode"}
    assert failed(replace(a, site=""), replace(b, site=""), program) == {"no_shared_meeting_mode"}


def test_overlap_follows_each_zones_daylight_saving(alice, bob, program):
    ny = replace(alice, timezone="America/New_York", availability=(("mon", "09:00", "10:00"),))
    ldn = replace(bob, timezone="Europe/London", availability=(("mon", "14:00", "15:00"),))
    assert failed(ny, ldn, replace(program, starts_on=datetime(2027, 3, 1, tzinfo=UTC))) == {"insufficient_overlap"}
    assert failed(ny, ldn, replace(program, starts_on=datetime(2027, 4, 5, tzinfo=UTC))) == set()


def test_values_and_their_harmonic_mean(make, program):
    a = make("a", offers=(("x", 4), ("y", 5)), wants=(("z", "g", 2),))
    b = make("b", offers=(("z", 3),), wants=(("x", "g", 3), ("w", "g", 1)))
    r = assess_pair(a, b, program)
    assert r.value_ab[0] == pytest.approx(3 * 4 / 5 / 4)  # a covers b's x (priority 3 of 4) at level 4
    assert r.value_ba[0] == pytest.approx(3 / 5)
    x, y = r.value_ab[0], r.value_ba[0]
    assert r.harmonic[0] == pytest.approx(2 * x * y / (x + y))
    assert r.score[0] == pytest.approx(r.harmonic[0] + sum(part[0] for part in r.bonuses))
    assert k.harmonic_mean(0.5, 0.0) == 0.0 and k.harmonic_mean(1.0, 0.25) == pytest.approx(0.4)


def test_a_one_sided_pair_scores_zero_and_gets_no_bonus(alice, bob, program):
    b = replace(bob, offers=(("python", 5),), interests=frozenset({"jazz"}))
    r = assess_pair(replace(alice, interests=frozenset({"jazz"})), b, program)
    assert r.value_ab[0] > 0 and r.value_ba[0] == 0
    assert r.harmonic[0] == 0 and r.score[0] == 0
    assert all(part[0] == 0 for part in r.bonuses)


def bonus(a, b, program, name, **kwargs) -> float:
    r = assess_pair(a, b, program, **kwargs)
    return float(r.bonuses[k.BONUS_FACTORS.index(name)][0])


def test_cross_department_bonus(alice, bob, program):
    assert bonus(alice, bob, program, "bonus_cross_department") == k.BONUS_CROSS_DEPARTMENT
    assert bonus(alice, replace(bob, department="ENGINEERING"), program, "bonus_cross_department") == 0
    assert bonus(alice, bob, replace(program, cross_department="any"), "bonus_cross_department") == 0


@pytest.mark.parametrize("stage,steps", [("executive", 0), ("senior", 1), ("mid", 2), ("early", 3)])
def test_career_stage_bonus_grows_with_the_distance(alice, bob, program, stage, steps):
    assert bonus(alice, replace(bob, career_stage=stage), program, "bonus_career_stage") == pytest.approx(
        k.BONUS_CAREER_STAGE * steps / 3)


@pytest.mark.parametrize("shared", [0, 1, 2, 3, 5])
def test_shared_interests_bonus_is_capped(alice, bob, program, shared):
    topics = [f"t{i}" for i in range(shared)]
    a = replace(alice, interests=frozenset([*topics, "only-a"]))
    b = replace(bob, interests=frozenset([*topics, "only-b"]))
    assert bonus(a, b, program, "bonus_shared_interests") == pytest.approx(
        k.BONUS_SHARED_INTERESTS * min(shared, k.SHARED_INTERESTS_FULL) / k.SHARED_INTERESTS_FULL)


@pytest.mark.parametrize("weekly,share", [(0, 0), (60, 0.25), (120, 0.5), (240, 1), (10_000, 1)])
def test_overlap_bonus_is_capped_at_four_sessions(alice, bob, program, weekly, share):
    assert bonus(alice, bob, program, "bonus_overlap", weekly=weekly) == pytest.approx(k.BONUS_OVERLAP * share)


def test_the_overlap_bonus_uses_the_worst_weeks_shared_minutes(alice, bob, program):
    # both free Mon 09-12 and Wed 14-16 (UTC): 300 shared minutes a week, above four 60-minute sessions
    assert bonus(alice, bob, program, "bonus_overlap") == k.BONUS_OVERLAP
    b = replace(bob, availability=(("mon", "09:00", "11:00"),))  # 120 shared minutes
    assert bonus(alice, b, program, "bonus_overlap") == pytest.approx(k.BONUS_OVERLAP * 120 / 240)


def test_the_explanation_is_the_kernels_factors(alice, bob, program):
    r = assess_pair(alice, bob, program)
    s = score_pair(alice, bob, program)
    factors = {f.factor: f.value for f in s.explanation}
    assert factors["value_a_to_b"] == r.value_ab[0] and factors["value_b_to_a"] == r.value_ba[0]
    assert factors["harmonic_mean"] == r.harmonic[0]
    assert [factors[name] for name in k.BONUS_FACTORS] == [part[0] for part in r.bonuses]
    assert s.score == r.score[0]
    flipped = score_pair(bob, alice, program)
    assert flipped == s  # the order of the two people does not matter


def world(seed: int, n: int = 160):
    rng = random.Random(seed)
    program = program_from_event(generate_program(cross_department=rng.choice(("preferred", "required", "any")),
                                                  session_minutes=rng.choice((30, 45, 60)),
                                                  starts_on=datetime(2027, 3, 1, tzinfo=UTC)))
    people = [person_from_profile(e) for e in generate_cohort(n, seed)]
    ids = [p.person_id for p in people]
    changes = [
        lambda p: replace(p, active=False),
        lambda p: replace(p, program_ids=()),
        lambda p: replace(p, org_id="globex"),
        lambda p: replace(p, manager_id=rng.choice(ids)),
        lambda p: replace(p, languages=frozenset({"fr"})),
        lambda p: replace(p, meeting_modes=frozenset({"in_person"}), site=rng.choice(("London", "london", ""))),
        lambda p: replace(p, offers=rng.choice(people).offers, wants=rng.choice(people).wants),
        lambda p: replace(p, max_partners=0),
    ]
    changed = [rng.choice(changes)(p) if rng.random() < 0.3 else p for p in people]
    blocked = {frozenset(rng.sample(ids, 2)) for _ in range(n // 2)}
    load = {pid: rng.choice((0, 1, 2)) for pid in rng.sample(ids, n // 4)}
    return program, people, changed, blocked, load


@pytest.mark.parametrize("seed", range(3))
def test_the_block_path_equals_the_pair_path_after_in_place_changes(seed):
    program, people, changed, blocked_pairs, load = world(seed)
    book = Codebook(program)
    pool = Columns(book, people, rows=8)  # grows while filling
    for p in changed:  # written in place, postings and all
        pool.upsert(p)
    gone = changed[5].person_id
    pool.remove(gone)
    blocked = book.pair_keys(blocked_pairs)
    n = pool.n
    everyone = np.arange(n)
    pairs = assess(pool, everyone[:, None], pool, everyone[None, :], load=load, blocked=blocked)
    block = assess_block(pool, everyone, pool, load=load, blocked=blocked)
    assert 20 < int(block.eligible.sum()) < n * n
    got = {(int(i), int(j)): float(s) for i, j, s, ok in zip(block.rows, block.cols, block.score, block.eligible,
                                                             strict=True) if ok}
    want = {(i, j): float(pairs.score[i, j]) for i in range(n) for j in range(n) if pairs.eligible[i, j]}
    assert got == want
    removed = pool.row.get(gone)
    assert removed is None and not any(gone in (pool.ids[i], pool.ids[j]) for i, j in got)
    # the block keeps exactly the pairs of two members with value both ways
    members = pool.member[:n]
    kept = set(zip(block.rows.tolist(), block.cols.tolist(), strict=True))
    assert kept == set(zip(*np.nonzero((pairs.harmonic > 0) & members[:, None] & members[None, :]), strict=True))
