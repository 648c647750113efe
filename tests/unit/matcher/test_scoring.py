from dataclasses import replace

import pytest

from services.matcher.domain import harmonic_mean, score_pair, value
from services.matcher.domain.scoring import MAX_BONUS
from shared.availability import Overlap


def test_value_weighs_priority_and_level(make):
    teacher = make("t", offers=(("leadership", 4), ("sql", 5)))
    learner = make("l", wants=(("leadership", "g1", 3), ("python", "g2", 1)))
    assert value(teacher, learner) == pytest.approx(3 * 4 / 5 / 4)
    assert value(learner, teacher) == 0.0


def test_value_is_one_when_every_want_is_covered_by_an_expert(make):
    teacher = make("t", offers=(("a", 5), ("b", 5)))
    learner = make("l", wants=(("a", "g", 1), ("b", "g", 3)))
    assert value(teacher, learner) == 1.0


def test_value_of_nothing_wanted_is_zero(make):
    assert value(make("t"), make("l", wants=())) == 0.0


def test_harmonic_mean():
    assert harmonic_mean(0.5, 0.5) == pytest.approx(0.5)
    assert harmonic_mean(1.0, 0.25) == pytest.approx(0.4)
    assert harmonic_mean(1.0, 0.0) == 0.0


def test_score_is_harmonic_mean_plus_bonuses_and_explained(alice, bob, program):
    s = score_pair(alice, bob, program)
    factors = {f.factor: f.value for f in s.explanation}
    assert factors["value_a_to_b"] == pytest.approx(1.0)  # alice's leadership 5 covers bob's only want
    assert factors["value_b_to_a"] == pytest.approx(0.8)
    assert factors["harmonic_mean"] == pytest.approx(2 * 0.8 / 1.8)
    bonus = sum(v for k, v in factors.items() if k.startswith("bonus_"))
    assert s.score == pytest.approx(factors["harmonic_mean"] + bonus)
    assert factors["bonus_cross_department"] > 0 and factors["bonus_career_stage"] > 0


def test_one_sided_pair_scores_zero_without_bonuses(alice, bob, program):
    bob = replace(bob, offers=(("python", 5),), interests=frozenset({"jazz"}))
    alice = replace(alice, interests=frozenset({"jazz"}))
    s = score_pair(alice, bob, program)
    assert s.score == 0.0
    assert all(f.value == 0 for f in s.explanation if f.factor.startswith("bonus_"))


def test_order_is_normalised(alice, bob, program):
    forward, backward = score_pair(alice, bob, program), score_pair(bob, alice, program)
    assert forward == backward
    assert (forward.person_a, forward.person_b) == ("alice", "bob")
    assert forward.value_ab == pytest.approx(value(alice, bob))


def test_teaching_lists_name_the_learners_goals(alice, bob, program):
    s = score_pair(bob, alice, program)
    assert [(t.skill, t.goal) for t in s.a_teaches_b] == [("leadership", "lead my first project")]
    assert [(t.skill, t.goal) for t in s.b_teaches_a] == [("social media", "grow our team's channel")]


def test_teaching_list_is_ordered_by_priority(make, program):
    a = make("a", offers=(("x", 3), ("y", 3), ("z", 3)), wants=(("w", "g", 1),))
    b = make("b", offers=(("w", 3),), wants=(("x", "gx", 1), ("y", "gy", 3), ("z", "gz", 2)))
    assert [t.skill for t in score_pair(a, b, program).a_teaches_b] == ["y", "z", "x"]


def test_each_bonus_raises_the_score(alice, bob, program):
    full = Overlap(60, 60)
    base = score_pair(alice, bob, program, pair_overlap=full).score

    def score(a=alice, b=bob, prog=program, ov=full):
        return score_pair(a, b, prog, pair_overlap=ov).score

    assert score(b=replace(bob, department=alice.department)) < base
    assert score(prog=replace(program, cross_department="any")) < base
    assert score(b=replace(bob, career_stage="senior")) < base
    assert score(a=replace(alice, interests=frozenset({"jazz"})), b=replace(bob, interests=frozenset({"jazz"}))) > base
    assert score(ov=Overlap(60, 180)) > base


def test_bonuses_are_bounded(make, program):
    a = make("a", department="x", career_stage="early", offers=(("s", 5),), wants=(("t", "g", 3),),
             interests=frozenset("abcdef"))
    b = make("b", department="y", career_stage="executive", offers=(("t", 5),), wants=(("s", "g", 3),),
             interests=frozenset("abcdef"))
    s = score_pair(a, b, program, pair_overlap=Overlap(10_000, 10_000))
    assert MAX_BONUS <= 0.25
    assert s.score == pytest.approx(1.0 + MAX_BONUS)


def test_an_admin_tunes_each_bonus_with_a_program_weight(make, program):
    a = make("a", department="x", career_stage="early", offers=(("s", 5),), wants=(("t", "g", 3),),
             interests=frozenset("abcdef"))
    b = make("b", department="y", career_stage="executive", offers=(("t", 5),), wants=(("s", "g", 3),),
             interests=frozenset("abcdef"))
    ov = Overlap(10_000, 10_000)

    def factors(weights: tuple[float, float, float, float]) -> dict[str, float]:
        s = score_pair(a, b, replace(program, bonus_weights=weights), pair_overlap=ov)
        found = {f.factor: f.value for f in s.explanation}
        assert s.score == pytest.approx(found["harmonic_mean"] + sum(v for k, v in found.items()
                                                                     if k.startswith("bonus_")))
        return found

    base = factors((1.0, 1.0, 1.0, 1.0))
    tuned = factors((0.0, 2.0, 1.0, 3.0))
    assert tuned["bonus_cross_department"] == 0.0
    assert tuned["bonus_career_stage"] == pytest.approx(2 * base["bonus_career_stage"])
    assert tuned["bonus_shared_interests"] == pytest.approx(base["bonus_shared_interests"])
    assert tuned["bonus_overlap"] == pytest.approx(3 * base["bonus_overlap"])
    # Every explanation shows the weights that produced it.
    assert {k: v for k, v in tuned.items() if k.startswith("weight_")} == {
        "weight_cross_department": 0.0, "weight_career_stage": 2.0, "weight_shared_interests": 1.0,
        "weight_overlap": 3.0, "weight_priority_1": 1.0, "weight_priority_2": 2.0, "weight_priority_3": 3.0}


def test_an_admin_weighs_the_want_priorities(make, program):
    """Bo wants two skills: sql at priority 3, which Ana offers, and excel at priority 1, which she
    does not. By default sql counts 3 of 4; with equal weights, 1 of 2."""
    ana = make("ana", offers=(("sql", 5), ("go", 5)), wants=(("python", "g", 2),))
    bo = make("bo", offers=(("python", 5),), wants=(("sql", "g", 3), ("excel", "g", 1)))

    def value_to_bo(weights: tuple[float, float, float]) -> float:
        s = score_pair(ana, bo, replace(program, priority_weights=weights))
        return {f.factor: f.value for f in s.explanation}["value_a_to_b"]

    assert value_to_bo((1.0, 2.0, 3.0)) == pytest.approx(3 / 4)
    assert value_to_bo((1.0, 1.0, 1.0)) == pytest.approx(1 / 2)
    assert value_to_bo((0.1, 1.0, 0.1)) == pytest.approx(1 / 2)  # totals below 1 are still shares
