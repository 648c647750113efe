"""The demo's planted behaviour: which check-ins each kind of pair gives, and how a role swap is found."""

from reciprocal.demo import Plan, swapped_session


def request(mid: str, session: str, teacher: str | None) -> dict:
    return {"org_id": "o", "match_id": mid, "session_id": session, "person_a": "a", "person_b": "b",
            "teacher": teacher}


def test_the_one_sided_pair_skips_b_teaching_until_flagged_and_the_fizzling_and_ending_pairs_stay_silent():
    plan = Plan([{"match_id": m} for m in ("one", "fizz", "end", "ok")])
    assert {x["happened"] for x in plan.answers(request("one", "s2", "a"))} == {"yes"}
    assert [(x["person_id"], x["happened"]) for x in plan.answers(request("one", "s3", "b"))] == [
        ("a", "no"), ("b", "no")]
    plan.flagged.add("one")
    assert {x["happened"] for x in plan.answers(request("one", "s5", "b"))} == {"yes"}
    assert plan.answers(request("fizz", "s2", "a")) == [] and plan.answers(request("end", "s1", None)) == []
    assert [x["learned"] for x in plan.answers(request("ok", "s3", "b"))] == [4, 4]


def test_a_swap_is_the_first_session_an_update_gave_to_the_neglected_teacher():
    created = {"sessions": [{"session_id": "s2", "teacher": "a"}, {"session_id": "s3", "teacher": "b"},
                            {"session_id": "s4", "teacher": "a"}]}
    same = {"sessions": created["sessions"]}
    swap = {"sessions": [{"session_id": "s2", "teacher": "a"}, {"session_id": "s3", "teacher": "b"},
                         {"session_id": "s4", "teacher": "b"}]}
    assert swapped_session(created, [same], "b") is None
    assert swapped_session(created, [same, swap], "b")["session_id"] == "s4"
