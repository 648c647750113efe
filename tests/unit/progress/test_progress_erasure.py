"""Erasure in a partnership: the person's private notes go, both ratings (the partner's balance) stay."""

from progress_testkit import A, B, check, partnership, series

from services.progress.domain import ledger


def test_erasing_a_persons_notes_keeps_the_ratings_and_the_partners_notes():
    p = partnership(series((B, A), (A, B)))
    check(p, 1, A, learned=4, note="ana's private thought")
    check(p, 2, B, learned=5, note="ben's private thought")
    balance = ledger(p)
    assert p.forget_notes_of(A) == 1
    assert p.forget_notes_of(A) == 0
    assert {c.person_id: c.note for c in p.checkins.values()} == {A: None, B: "ben's private thought"}
    assert ledger(p) == balance
