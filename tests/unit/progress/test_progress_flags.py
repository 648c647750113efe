from progress_testkit import BEN_GOALS, NOW, A, B, check, kinds, partnership, series

from services.progress.domain import PERSISTENT_AFTER_SESSIONS, Thresholds, ledger, persistent_flags

AB, BA = (A, B), (B, A)


def flagged(events: list) -> list:
    return [e for e in events if e.event_type == "partnerships.flagged"]


# --- one-sided ---------------------------------------------------------------------------------


def test_one_sided_by_share_once_enough_sessions_were_held_with_the_neglected_direction_and_goals():
    p = partnership(series(AB, AB, AB, BA, AB, BA))
    for n in (1, 2, 3):
        assert not flagged(check(p, n, B, "yes", learned=4))
    events = check(p, 4, A, "yes", learned=4)  # 4 held: 3 by ana, 1 by ben = 25%, not under 25%
    assert not flagged(events)
    events = check(p, 5, B, "yes", learned=4)  # 5 held: ben taught 1 (20%)
    [flag] = flagged(events)
    assert flag.kind == "one_sided" and flag.neglected.model_dump() == {"teacher": B, "learner": A}
    assert flag.neglected_goals == ["automate my reports"]
    assert "ben has taught 1 of the 5 sessions held (20%" in flag.reason
    assert (flag.person_a, flag.person_b, flag.program_id, flag.org_id) == (A, B, "pilot", "acme")
    assert ledger(p).flags == ["one_sided"] and kinds(events)[-1] == "partnerships.balance-changed"


def test_one_sided_is_published_once_per_onset_and_again_after_it_cleared():
    p = partnership(series(AB, AB, AB, AB, BA, BA, AB, AB, AB, AB))
    onsets = []
    for n, person in [(1, B), (2, B), (3, B), (4, B)]:
        onsets += flagged(check(p, n, person, "yes"))
    assert [f.kind for f in onsets] == ["one_sided"]       # 4 of 4 by ana
    assert not flagged(check(p, 5, A, "yes"))              # 1 of 5: still one-sided, no new event
    assert not flagged(check(p, 6, A, "yes"))              # 2 of 6 = 33%: cleared
    assert "one_sided" not in p.flags
    for n in (7, 8, 9):
        onsets += flagged(check(p, n, B, "yes"))           # 2 of 9 = 22%: a new onset
    assert [f.kind for f in onsets] == ["one_sided", "one_sided"]


def test_the_thresholds_come_from_the_program():
    strict = Thresholds(one_sided_min_sessions=2, one_sided_ratio=0.5)
    p = partnership(series(AB, AB), thresholds=strict)
    check(p, 1, B, "yes", thresholds=strict)
    assert flagged(check(p, 2, B, "yes", thresholds=strict))
    lenient = partnership(series(AB, AB, AB, AB, AB))
    for n in (1, 2, 3):
        check(lenient, n, B, "yes")
    assert not lenient.flags  # 3 held: under the default minimum of 4


def test_one_sided_by_a_learning_gap_of_two_points():
    p = partnership(series(AB, BA, AB, BA, AB, BA))
    for n, learner, learned in [(1, B, 5), (2, A, 3), (3, B, 5)]:
        assert not flagged(check(p, n, learner, "yes", learned=learned))  # a gap of 2.0, but 3 held
    [event] = flagged(check(p, 4, A, "yes", learned=3))  # 4 held, 50/50, ana learns 3.0 against ben's 5.0
    assert event.neglected.model_dump() == {"teacher": B, "learner": A}
    flag = p.flags["one_sided"]
    assert flag.neglected == (B, A) and "ana rates what they learn at 3.0 of 5 on average, 2.0 points below" \
        in flag.reason


def test_a_learning_gap_under_two_points_is_not_one_sided():
    p = partnership(series(AB, BA, AB, BA))
    for n, learner, learned in [(1, B, 5), (2, A, 4), (3, B, 5), (4, A, 3)]:
        check(p, n, learner, "yes", learned=learned)
    assert ledger(p).b_teaches_a.learned_avg == 3.5 and not p.flags


def test_neglected_goals_are_the_learners_goals_not_yet_worked_on():
    p = partnership(series(BA, BA, BA, BA, BA))
    for n in range(1, 6):
        check(p, n, A, "yes")
    assert p.flags["one_sided"].neglected == (A, B)
    assert p.flags["one_sided"].neglected_goals == tuple(g.goal for g in BEN_GOALS)


# --- fizzling ----------------------------------------------------------------------------------


def test_three_sessions_in_a_row_that_did_not_happen_is_fizzling_published_once():
    p = partnership(series(None, AB, BA, AB, BA))
    check(p, 1, A, "yes")
    assert not flagged(check(p, 2, A, "no") + check(p, 3, B, "moved"))
    [flag] = flagged(check(p, 4, A, "no"))
    assert flag.kind == "fizzling" and flag.neglected is None and "last 3 sessions" in flag.reason
    assert not flagged(check(p, 4, B, "no") + check(p, 5, A, "no"))   # still fizzling: no new event
    assert p.flags["fizzling"].due_at_onset == 4


def test_a_held_session_breaks_the_run_and_clears_the_flag():
    p = partnership(series(AB, BA, AB, BA, AB))
    check(p, 1, A, "no")
    check(p, 2, A, "no")
    check(p, 3, B, "yes")
    assert not flagged(check(p, 4, A, "no") + check(p, 5, A, "no"))  # 2 since the held one
    p2 = partnership(series(AB, BA, AB, BA))
    for n in (1, 2, 3):
        check(p2, n, A, "no")
    assert "fizzling" in p2.flags
    check(p2, 3, B, "yes")  # a partner says the last one did happen after all
    assert "fizzling" not in p2.flags


def test_silence_counts_once_a_later_session_is_due_but_the_latest_is_not_judged_yet():
    p = partnership(series(AB, BA, AB, BA))
    for n in (1, 2, 3):
        p.request_check_in(f"m1-s{n:02d}", thresholds=Thresholds(), now=NOW)
    assert not p.flags  # s01 and s02 silent and overtaken (2), s03 just asked
    events = p.request_check_in("m1-s04", thresholds=Thresholds(), now=NOW)
    assert [f.kind for f in flagged(events)] == ["fizzling"]
    assert kinds(events)[0] == "checkins.requested"


def test_fizzle_after_missed_comes_from_the_program():
    quick = Thresholds(fizzle_after_missed=1)
    p = partnership(series(AB, BA), thresholds=quick)
    assert flagged(check(p, 1, A, "no", thresholds=quick))


def test_an_ended_partnership_keeps_no_flags():
    p = partnership(series(AB, BA, AB))
    for n in (1, 2, 3):
        check(p, n, A, "no")
    assert p.flags
    p.end("not_a_fit", at=NOW, thresholds=Thresholds(), now=NOW)
    assert not p.flags and ledger(p).status == "ended"


# --- the admins' list --------------------------------------------------------------------------


def test_a_flag_reaches_the_admins_list_only_when_it_persists():
    p = partnership(series(AB, BA, AB, BA, AB, BA))
    for n in (1, 2, 3):
        check(p, n, A, "no")
    assert persistent_flags([p], NOW) == []
    check(p, 4, A, "no")
    assert persistent_flags([p], NOW) == []  # one more session since the onset
    check(p, 5, B, "no")
    [listed] = persistent_flags([p], NOW)
    assert listed["kind"] == "fizzling" and listed["sessions_since"] == PERSISTENT_AFTER_SESSIONS == 2
    assert listed["match_id"] == "m1"
