"""The enrolment rule (`enrolment_change`): what one write of a profile record changes in each program's
counts, and that summing those changes over any history of writes gives a fresh count of the final records."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from services.profiles.domain import enrolment_change, enrolment_changes, enrolment_of


def record(*program_ids: str, active: bool = True, org_id: str = "acme") -> dict:
    return {"org_id": org_id, "person_id": "ada", "profile": {"person_id": "ada", "program_ids": list(program_ids)},
            "version": 1, "active": active}


def test_a_new_profile_is_enrolled_and_active_in_each_program_it_names():
    assert enrolment_change(None, record("pilot", "spring")) == {"pilot": (1, 1), "spring": (1, 1)}


def test_a_withdrawal_keeps_the_enrolment_and_ends_the_activity():
    assert enrolment_change(record("pilot"), record("pilot", active=False)) == {"pilot": (0, -1)}


def test_a_resubmission_after_a_withdrawal_is_active_again():
    assert enrolment_change(record("pilot", active=False), record("pilot")) == {"pilot": (0, 1)}


def test_a_changed_program_list_moves_the_counts_and_leaves_the_kept_program_alone():
    assert enrolment_change(record("pilot", "spring"), record("spring", "autumn")) == {
        "pilot": (-1, -1), "autumn": (1, 1)}
    assert enrolment_change(record("pilot", active=False), record("autumn")) == {"pilot": (-1, 0), "autumn": (1, 1)}


def test_an_erased_profile_counts_nowhere():
    assert enrolment_change(record("pilot", "spring"), None) == {"pilot": (-1, -1), "spring": (-1, -1)}
    assert enrolment_change(record("pilot", active=False), None) == {"pilot": (-1, 0)}
    assert enrolment_change(None, None) == {}


def test_a_program_named_twice_counts_once():
    assert enrolment_of(record("pilot", "pilot")) == {"pilot": (1, 1)}
    assert enrolment_change(None, record("pilot", "pilot")) == {"pilot": (1, 1)}
    assert enrolment_change(record("pilot"), record("pilot", "pilot")) == {}


def test_an_unchanged_record_changes_nothing_and_a_record_without_programs_counts_nowhere():
    assert enrolment_change(record("pilot"), record("pilot")) == {}
    assert enrolment_of({"org_id": "acme", "active": True}) == {}


def test_changes_are_summed_per_org_and_program_and_zero_sums_left_out():
    writes = [("acme", None, record("pilot")), ("acme", None, record("pilot", "spring")),
              ("globex", None, record("pilot", org_id="globex")), ("acme", record("spring"), None)]
    assert enrolment_changes(writes) == {("acme", "pilot"): (2, 2), ("globex", "pilot"): (1, 1)}


PEOPLE = [("acme", "ada"), ("acme", "bo"), ("acme", "cy"), ("globex", "ada")]
PROGRAMS = ["pilot", "spring", "autumn"]

operations = st.tuples(
    st.sampled_from(["submit", "withdraw", "erase"]),
    st.sampled_from(PEOPLE),
    st.lists(st.sampled_from(PROGRAMS), min_size=1, max_size=4),  # repeats allowed: counted once
)
histories = st.lists(st.lists(operations, min_size=1, max_size=6), max_size=25)  # transactions of operations


def apply(state: dict, op: tuple) -> None:
    """The handlers' effect on the stored record: a submission stores an active record (the new program
    list), a withdrawal makes an active record inactive, an erasure deletes it."""
    kind, (org_id, person_id), program_ids = op
    before = state.get((org_id, person_id))
    if kind == "submit":
        state[(org_id, person_id)] = {"org_id": org_id, "person_id": person_id, "active": True,
                                      "profile": {"person_id": person_id, "program_ids": program_ids}}
    elif kind == "withdraw" and before and before["active"]:
        state[(org_id, person_id)] = {**before, "active": False}
    elif kind == "erase":
        state.pop((org_id, person_id), None)


def fresh_count(state: dict) -> dict[tuple[str, str], tuple[int, int]]:
    enrolled: Counter = Counter()
    active: Counter = Counter()
    for (org_id, _), rec in state.items():
        for program_id in set(rec["profile"]["program_ids"]):
            enrolled[(org_id, program_id)] += 1
            active[(org_id, program_id)] += rec["active"] is True
    return {key: (enrolled[key], active[key]) for key in enrolled}


@settings(max_examples=500, deadline=None, database=None)
@given(histories)
def test_summed_changes_equal_a_fresh_count_of_the_final_records(history):
    """Each transaction counts, for every person it wrote, the change from the record it read first to the
    record it wrote last (as the batch handler does); the running sums always match a fresh count."""
    state: dict = {}
    counters: Counter = Counter()
    for transaction in history:
        read = dict(state)
        for op in transaction:
            apply(state, op)
        touched = {person for _, person, _ in transaction}
        for (org_id, program_id), (enrolled, active) in enrolment_changes(
                (key[0], read.get(key), state.get(key)) for key in touched).items():
            counters[(org_id, program_id, "enrolled")] += enrolled
            counters[(org_id, program_id, "active")] += active
        summed = {(o, p): (counters[(o, p, "enrolled")], counters[(o, p, "active")])
                  for o, p, _ in counters if counters[(o, p, "enrolled")] or counters[(o, p, "active")]}
        assert summed == fresh_count(state)
