from datetime import timedelta

from progress_testkit import DEFAULTS, NOW, A, B, check, kinds, partnership, series

from services.progress.domain import Thresholds, ledger

AB, BA = (A, B), (B, A)


def test_a_session_is_held_when_either_partner_says_yes_and_not_on_no_or_silence():
    p = partnership(series(None, AB, BA, AB))
    check(p, 1, A, "yes")             # kickoff: held, no direction
    check(p, 2, A, "no")
    check(p, 2, B, "yes", learned=4)  # one yes is enough
    check(p, 3, A, "no")
    check(p, 3, B, "no")  # no from both: not held
    # session 4: nobody checked in: not held, not due
    book = ledger(p)
    assert book.sessions_held == 2 and book.sessions_due == 3
    assert book.a_teaches_b.held == 1 and book.b_teaches_a.held == 0
    assert book.share_taught_by_a == 1.0


def test_ratings_are_the_learners_learned_and_the_teachers_helped_per_direction():
    p = partnership(series(AB, BA, AB))
    check(p, 1, B, "yes", learned=5, helped=1)  # ben learns from ana
    check(p, 1, A, "yes", learned=2, helped=4)  # ana helped
    check(p, 2, A, "yes", learned=2, helped=5)  # ana learns from ben; ben did not check in
    check(p, 3, B, "yes", learned=3)
    check(p, 3, A, "no", helped=1)              # ana says it did not happen: her rating is not counted
    book = ledger(p)
    assert (book.a_teaches_b.held, book.a_teaches_b.learned_avg, book.a_teaches_b.learned_ratings) == (2, 4.0, 2)
    assert (book.a_teaches_b.helped_avg, book.a_teaches_b.helped_ratings) == (4.0, 1)
    assert (book.b_teaches_a.held, book.b_teaches_a.learned_avg, book.b_teaches_a.helped_avg) == (1, 2.0, None)
    assert book.share_taught_by_a == round(2 / 3, 4)


def test_goals_worked_on_come_from_the_agendas_of_held_sessions():
    p = partnership(series(AB, AB, BA))
    check(p, 1, A, "yes")
    check(p, 2, B, "no")
    check(p, 3, A, "no")
    book = ledger(p)
    worked = {g.goal: g.sessions for g in book.a_teaches_b.goals}
    assert worked == {"run my first team meeting": 1, "give hard feedback": 0}
    assert [(g.goal, g.sessions) for g in book.b_teaches_a.goals] == [("automate my reports", 0)]


def test_a_later_check_in_replaces_the_earlier_one():
    p = partnership(series(AB))
    check(p, 1, B, "no")
    assert ledger(p).sessions_held == 0
    check(p, 1, B, "yes", learned=2)
    check(p, 1, B, "yes", learned=5)
    book = ledger(p)
    assert book.sessions_held == 1 and book.a_teaches_b.learned_avg == 5.0 and book.a_teaches_b.learned_ratings == 1
    assert len(p.checkins) == 1


def test_balance_changed_is_published_only_when_the_ledger_changes_and_its_version_grows():
    p = partnership(series(AB))
    before = p.balance_version
    first = check(p, 1, B, "yes", learned=4)
    assert kinds(first) == ["partnerships.balance-changed"] and first[0].version == before + 1
    assert first[0].a_teaches_b.learned_avg == 4.0 and first[0].match_id == "m1" and first[0].org_id == "acme"
    assert check(p, 1, B, "yes", learned=4) == []                  # same answer again: nothing changed
    assert check(p, 1, B, "yes", learned=4, note="private") == []  # the note is not part of the ledger
    assert "private" not in ledger(p).model_dump_json()


def test_the_private_note_is_kept_but_never_shown():
    p = partnership(series(AB))
    check(p, 1, B, "yes", learned=4, note="my manager is the problem")
    assert p.checkins[("m1-s01", B)].note == "my manager is the problem"
    assert "manager" not in repr(p.checkins[("m1-s01", B)])
    assert "manager" not in ledger(p).model_dump_json()


def test_a_cancelling_update_removes_the_sessions_ahead_but_keeps_answered_ones():
    sessions = series(AB, BA, AB)
    p = partnership(sessions)
    check(p, 2, A, "yes")
    p.schedule(sessions[1:], version=2, cancelled=True, thresholds=DEFAULTS, now=NOW)
    assert list(p.sessions) == ["m1-s01", "m1-s02"]
    assert ledger(p).sessions_scheduled == 2
    p.schedule(sessions, version=2, cancelled=False, thresholds=DEFAULTS, now=NOW)  # stale version: ignored
    assert list(p.sessions) == ["m1-s01", "m1-s02"]


def test_an_update_keeps_what_was_due_and_what_was_answered():
    sessions = series(AB, BA, AB)
    p = partnership(sessions)
    check(p, 2, A, "yes")
    p.schedule([sessions[0], sessions[2]], version=2, cancelled=False, thresholds=DEFAULTS, now=NOW)
    assert list(p.sessions) == ["m1-s01", "m1-s02", "m1-s03"] and p.sessions["m1-s02"].due


def test_check_in_requests_wait_checkin_after_minutes_and_stop_once_due_or_ended():
    p = partnership(series(AB, BA))
    asked = dict(p.checkins_to_request(Thresholds(checkin_after_minutes=90)))
    assert asked == {s.session_id: s.ends_at + timedelta(minutes=90) for s in p.sessions.values()}
    events = p.request_check_in("m1-s01", thresholds=DEFAULTS, now=NOW)
    assert kinds(events)[0] == "checkins.requested"
    assert (events[0].teacher, events[0].learner, events[0].session_id) == (A, B, "m1-s01")
    assert [sid for sid, _ in p.checkins_to_request(DEFAULTS)] == ["m1-s02"]
    p.end("goals_met", at=NOW, thresholds=DEFAULTS, now=NOW)
    assert p.checkins_to_request(DEFAULTS) == []

