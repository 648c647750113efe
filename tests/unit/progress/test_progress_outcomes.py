from datetime import timedelta

from progress_testkit import DEFAULTS, NOW, A, B, partnership, series

from services.progress.domain import CheckIn, Partnership, program_outcomes

AB, BA = (A, B), (B, A)


def run(p: Partnership, answers: list[tuple[int, str, str, int | None]]) -> Partnership:
    for n, person, happened, learned in answers:
        p.check_in(CheckIn(f"{p.match_id}-s{n:02d}", person, happened, learned), thresholds=DEFAULTS, now=NOW)
    return p


def pair(match_id: str, a: str, b: str, *, began_days_ago: float) -> Partnership:
    p = Partnership.begin("acme", match_id, "pilot", a, b, began_at=NOW - timedelta(days=began_days_ago))
    sessions = [s.model_copy(update={"session_id": f"{match_id}-s{s.number:02d}",
                                     "teacher": {A: a, B: b}[s.teacher], "learner": {A: a, B: b}[s.learner]})
                for s in series(AB, BA, AB, BA)]
    p.schedule(sessions, version=1, cancelled=False, thresholds=DEFAULTS, now=NOW)
    return p


def test_outcomes_of_a_program():
    learning = run(pair("m1", "ana", "ben", began_days_ago=60),
                   [(1, "ben", "yes", 4), (2, "ana", "yes", 3), (3, "ben", "yes", 5), (4, "ana", "no", None)])
    lopsided = run(pair("m2", "cy", "dee", began_days_ago=60),
                   [(1, "dee", "yes", 5), (2, "cy", "yes", 1), (3, "dee", "no", None), (4, "cy", "no", None)])
    silent = pair("m3", "eve", "fay", began_days_ago=60)
    lopsided.end("goals_met", at=NOW - timedelta(days=10), thresholds=DEFAULTS, now=NOW)
    silent.end("not_a_fit", at=NOW - timedelta(days=20), thresholds=DEFAULTS, now=NOW)
    rematch = pair("m4", "cy", "eve", began_days_ago=9)   # cy is matched again a day after m2 ended
    out = program_outcomes("pilot", [learning, lopsided, silent, rematch])
    assert (out["partnerships"], out["active"], out["with_sessions_held"]) == (4, 2, 2)
    assert out["both_learning"] == 1 and out["both_learning_share"] == 0.5
    assert (out["sessions_due"], out["sessions_held"], out["held_session_rate"]) == (8, 5, 0.625)
    histogram = {b["share_taught_by_a"]: b["partnerships"] for b in out["balance_histogram"]}
    assert histogram == {"0-20%": 0, "20-40%": 0, "40-60%": 1, "60-80%": 1, "80-100%": 0}  # 2/3 and 1/2
    assert out["ended"] == 2 and out["ended_by_reason"] == {"goals_met": 1, "not_a_fit": 1}
    assert out["ended_successfully"] == 1
    # cy: 24 h to m4; eve: m4 began 11 days after her end; dee and fay still wait
    assert out["rematch"] == {"rematched": 2, "waiting": 2, "median_hours_to_rematch": (24 + 264) / 2}


def test_outcomes_of_an_empty_program():
    out = program_outcomes("pilot", [])
    assert out["partnerships"] == 0 and out["both_learning_share"] is None and out["held_session_rate"] is None
    assert out["rematch"] == {"rematched": 0, "waiting": 0, "median_hours_to_rematch": None}


def test_one_held_session_per_direction_with_ratings_of_three_is_both_learning():
    p = run(partnership(series(AB, BA)), [(1, B, "yes", 3), (2, A, "yes", 3)])
    assert program_outcomes("pilot", [p])["both_learning"] == 1
    q = run(partnership(series(AB, BA)), [(1, B, "yes", 3), (2, A, "yes", 2)])
    assert program_outcomes("pilot", [q])["both_learning"] == 0
