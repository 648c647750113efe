"""The vectorised paths (`cohort.candidate_graph` and `index.PoolIndex`) agree exactly with the
pairwise rules (`rules.ineligibility`) and scores, on a crafted pool where every hard rule is the
only thing keeping some pair apart, and on random pools. Removing any rule from either vectorised
path makes a pair eligible that the pairwise rules reject, and these tests fail."""

import random
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from services.matcher.domain import Person, Program, ineligibility, person_from_profile, program_from_event, reason_code
from services.matcher.domain.cohort import candidate_graph
from services.matcher.domain.generator import generate_cohort, generate_program
from services.matcher.domain.index import PoolIndex
from services.matcher.domain.rules import REASON_CODES
from services.matcher.domain.scoring import score_pair
from services.matcher.domain.vectors import Features

# 2027: the US switches to summer time on 14 March, the UK on 28 March
SPANNING_DST = datetime(2027, 3, 1, tzinfo=UTC)
SUMMER = datetime(2027, 4, 5, tzinfo=UTC)


def base_person(person_id: str, **changes) -> Person:
    fields = dict(person_id=person_id, org_id="acme", program_ids=("p1",), department="engineering", site="london",
                  timezone="UTC", languages=frozenset({"en"}), career_stage="mid", offers=(("leadership", 5),),
                  wants=(("social media", "grow our team's channel", 3),), meeting_modes=frozenset({"video"}),
                  availability=(("mon", "09:00", "12:00"), ("wed", "14:00", "16:00")), max_partners=1)
    return Person(**{**fields, **changes})


def mentor(person_id: str, **changes):  # offers leadership, wants social media
    return base_person(person_id, department="engineering", career_stage="executive", **changes)


def mentee(person_id: str, **changes):  # offers social media, wants leadership: values flow both ways with mentor
    fields = dict(department="marketing", career_stage="early", offers=(("social media", 4),),
                  wants=(("leadership", "lead my first project", 2),))
    return base_person(person_id, **{**fields, **changes})


def crafted_pool() -> tuple[list, set[frozenset[str]], dict[str, int]]:
    """`a` and a partner per rule that breaks only that rule (with `a` or with its own partner)."""
    a = mentor("a", manager_id="boss", meeting_modes=frozenset({"video", "in_person"}), site="london")
    people = [
        a,
        mentee("ok"),  # eligible with a
        mentee("ok_in_person", meeting_modes=frozenset({"in_person"}), site="London"),  # same site, any case
        mentee("other_org", org_id="globex"),  # enrolled in a program with the same id, in another org
        mentee("other_program", program_ids=("p2",)),
        mentee("inactive", active=False),
        mentee("report", manager_id="a"),  # a manages them
        mentee("boss"),  # manages a
        mentee("declined"),  # a's previous pairing (blocked_pairs)
        mentee("full", max_partners=2),  # capacity used up (load)
        mentee("french", languages=frozenset({"fr"})),
        mentee("phone_only", meeting_modes=frozenset({"phone"})),
        mentee("in_person_paris", meeting_modes=frozenset({"in_person"}), site="paris"),
        mentee("no_overlap", availability=(("tue", "18:00", "19:00"),)),
        mentee("short_overlap", availability=(("mon", "11:30", "13:00"),)),  # 30 of the 60 minutes
        mentee("same_department", department="Engineering"),  # blocked only when cross_department is required
        mentee("no_value", offers=(("python", 5),)),
        mentor("self_mentor", wants=(("leadership", "g", 3),)),  # would be eligible with themself
        # a pair with in_person on both sides but no site
        mentor("sited_a", site="", meeting_modes=frozenset({"in_person"})),
        mentee("sited_b", site="", meeting_modes=frozenset({"in_person"})),
        # New York 09:00 and London 14:00 on Mondays: the same hour in winter and after both switch
        # to summer time, an hour apart in the two weeks between (DST on each zone's own date)
        mentor("new_york", timezone="America/New_York", availability=(("mon", "09:00", "10:00"),)),
        mentee("london", timezone="Europe/London", availability=(("mon", "14:00", "15:00"),)),
    ]
    return people, {frozenset(("a", "declined"))}, {"full": 2}


def programs(start: datetime) -> list[Program]:
    return [Program(program_id="p1", org_id="acme", cross_department=mode, session_minutes=60, duration_weeks=12,
                    starts_on=start) for mode in ("preferred", "required", "any")]


def expected_edges(people, program, blocked, load) -> dict[tuple[str, str], float]:
    out = {}
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            if not ineligibility(a, b, program, blocked_pairs=blocked, load=load):
                x, y = sorted((a.person_id, b.person_id))
                out[(x, y)] = score_pair(a, b, program).score
    return out


def expected_partners(p, people, program, blocked, load) -> dict[str, float]:
    return {q.person_id: score_pair(p, q, program).score for q in people
            if not ineligibility(p, q, program, blocked_pairs=blocked, load=load)}


def sole_blockers(people, program, blocked, load) -> set[str]:
    """Codes that are the only reason some pair (or a person with themself) is ineligible."""
    out = set()
    for a in people:
        for b in people:
            codes = {reason_code(r) for r in ineligibility(a, b, program, blocked_pairs=blocked, load=load)}
            if len(codes) == 1:
                out |= codes
    return out


def check_graph(people, program, blocked, load) -> None:
    graph = candidate_graph(people, program, blocked_pairs=blocked, load=load)
    got = {(a, b): w for a, b, w in graph.edge_list()}
    want = expected_edges(people, program, blocked, load)
    assert sorted(got) == sorted(want)
    for key, w in want.items():
        assert got[key] == pytest.approx(w, rel=1e-12, abs=1e-15), key


def check_index(index: PoolIndex, people, program, blocked, load) -> None:
    for p in people:
        got = dict(index.ranked(p, blocked_pairs=blocked, load=load))
        want = expected_partners(p, people, program, blocked, load)
        assert sorted(got) == sorted(want), p.person_id
        for pid, w in want.items():
            assert got[pid] == pytest.approx(w, rel=1e-12, abs=1e-15), (p.person_id, pid)


ALL_RULES = set(REASON_CODES)


@pytest.mark.parametrize("start", [SPANNING_DST, SUMMER], ids=["dst-spanning", "summer"])
def test_the_crafted_pool_has_every_rule_as_the_only_blocker_of_some_pair(start):
    people, blocked, load = crafted_pool()
    preferred, required, _ = programs(start)
    covered = sole_blockers(people, preferred, blocked, load) | sole_blockers(people, required, blocked, load)
    assert covered == ALL_RULES
    # the DST pair: apart only while the program spans the weeks between the US and UK switch
    ny, ldn = people[-2], people[-1]
    assert [reason_code(r) for r in ineligibility(ny, ldn, preferred)] == (
        ["insufficient_overlap"] if start == SPANNING_DST else [])


@pytest.mark.parametrize("start", [SPANNING_DST, SUMMER], ids=["dst-spanning", "summer"])
@pytest.mark.parametrize("mode", [0, 1, 2], ids=["preferred", "required", "any"])
def test_candidate_graph_equals_the_pairwise_rules_on_the_crafted_pool(start, mode):
    people, blocked, load = crafted_pool()
    check_graph(people, programs(start)[mode], blocked, load)


@pytest.mark.parametrize("start", [SPANNING_DST, SUMMER], ids=["dst-spanning", "summer"])
@pytest.mark.parametrize("mode", [0, 1, 2], ids=["preferred", "required", "any"])
def test_pool_index_equals_the_pairwise_rules_on_the_crafted_pool(start, mode):
    people, blocked, load = crafted_pool()
    program = programs(start)[mode]
    check_index(PoolIndex(program, people), people, program, blocked, load)


@pytest.mark.parametrize("mode", [0, 1], ids=["preferred", "required"])
def test_pool_index_applies_every_rule_after_in_place_changes(mode):
    """Start from a pool where everyone is eligible with `a`, then change each partner in place
    into the version that breaks one rule (and back): the index follows every change."""
    people, blocked, load = crafted_pool()
    program = programs(SPANNING_DST)[mode]
    clean = [p if p.person_id in ("a", "self_mentor") or p.person_id.startswith(("sited", "new_york"))
             else mentee(p.person_id) for p in people]
    clean = [replace(p, manager_id=None) for p in clean]
    index = PoolIndex(program, clean)
    check_index(index, clean, program, set(), {})
    assert len(index.ranked(clean[0])) >= len(people) - 6
    for p in people:
        index.upsert(p)
    check_index(index, people, program, blocked, load)
    index.remove("ok")
    index.remove("french")
    rest = [p for p in people if p.person_id not in ("ok", "french")]
    check_index(index, rest, program, blocked, load)
    assert "ok" not in index and len(index) == len(rest)
    for p in clean:
        index.upsert(p)
    check_index(index, clean, program, set(), {})


def perturbed(people, rng: random.Random):
    """Each changed person breaks one rule with many others (or becomes eligible with new ones)."""
    ids = [p.person_id for p in people]
    other = list(people)
    changes = [
        lambda p: replace(p, org_id="globex"),
        lambda p: replace(p, program_ids=("p2",)),
        lambda p: replace(p, program_ids=()),
        lambda p: replace(p, active=False),
        lambda p: replace(p, manager_id=rng.choice(ids)),
        lambda p: replace(p, languages=frozenset({rng.choice(("fr", "de", "pt"))})),
        lambda p: replace(p, languages=frozenset({"en", "fr"})),
        lambda p: replace(p, meeting_modes=frozenset({rng.choice(("phone", "chat"))})),
        lambda p: replace(p, meeting_modes=frozenset({"in_person"}),
                          site=rng.choice(("london", "London", "paris", ""))),
        lambda p: replace(p, department=rng.choice(("engineering", "Sales", "hr"))),
        lambda p: replace(p, timezone=rng.choice(("Asia/Tokyo", "America/New_York", "Europe/London"))),
        lambda p: (q := rng.choice(other)) and replace(p, timezone=q.timezone, availability=q.availability),
        lambda p: replace(p, availability=(("mon", "09:00", "09:45"),)),
        lambda p: replace(p, offers=rng.choice(other).offers),
        lambda p: replace(p, wants=rng.choice(other).wants),
        lambda p: replace(p, max_partners=rng.choice((0, 1, 2))),
    ]
    return [rng.choice(changes)(p) if rng.random() < 0.4 else p for p in people]


def random_world(seed: int, n: int = 140):
    rng = random.Random(seed)
    start = rng.choice((SPANNING_DST, SUMMER, datetime(2027, 10, 18, tzinfo=UTC)))
    program = program_from_event(generate_program(cross_department=rng.choice(("preferred", "required", "any")),
                                                  session_minutes=rng.choice((30, 45, 60)), starts_on=start))
    people = [person_from_profile(e) for e in generate_cohort(n, seed)]
    changed = perturbed(people, rng)
    ids = [p.person_id for p in people]
    blocked = {frozenset(rng.sample(ids, 2)) for _ in range(n // 2)}
    load = {pid: rng.choice((0, 1, 1, 2)) for pid in rng.sample(ids, n // 4)}
    return program, people, changed, blocked, load


@pytest.mark.parametrize("seed", range(3))
def test_candidate_graph_equals_the_pairwise_rules_on_random_pools(seed):
    program, _, people, blocked, load = random_world(seed)
    assert len(expected_edges(people, program, blocked, load)) > 10
    check_graph(people, program, blocked, load)


@pytest.mark.parametrize("seed", range(3))
def test_pool_index_equals_the_pairwise_rules_on_random_pools_after_changes(seed):
    program, original, people, blocked, load = random_world(seed)
    index = PoolIndex(program, original)
    for p in people:  # in place, in the order the changes arrive
        index.upsert(p)
    check_index(index, people, program, blocked, load)


@pytest.mark.parametrize("mode", [0, 1, 2], ids=["preferred", "required", "any"])
def test_feature_blocks_apply_every_rule_but_capacity_and_history(mode):
    """`Features.block` on its own (candidate_graph also drops people with no capacity): every
    pair, in both orders and with oneself, is eligible iff the pairwise rules say so."""
    people, _, _ = crafted_pool()
    program = programs(SPANNING_DST)[mode]
    feats = Features(people, program)
    block = feats.block(np.arange(len(people)))
    for i, a in enumerate(people):
        for j, b in enumerate(people):
            eligible = not ineligibility(a, b, program)
            assert bool(block.ok[i, j]) == eligible, (a.person_id, b.person_id)
            if eligible:
                assert block.score[i, j] == pytest.approx(score_pair(a, b, program).score, rel=1e-12)
