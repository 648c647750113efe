"""The matcher's figures of a program for the console (pure): counts, reasons, waits, the matrix, who is left out."""

from datetime import UTC, datetime, timedelta

from services.matcher.adapters.views import NO_PARTNER_YET, summarise

T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)
PEOPLE = {p: {"display_name": p.title(), "department": d}
          for p, d in (("a", "Finance"), ("b", "Marketing"), ("c", "Finance"), ("d", "Sales"), ("e", "Sales"))}


def doc(mid, a, b, status, *, hours=0.0, reason="", created=T0):
    return {"_id": mid, "person_a": a, "person_b": b, "status": status, "reason": reason, "created_at": created,
            "updated_at": created + timedelta(hours=hours)}


def test_counts_reasons_median_wait_matrix_and_who_is_left_out():
    matches = [doc("m4", "a", "d", "ended", hours=4), doc("m1", "a", "b", "accepted", hours=2),
               doc("m2", "c", "d", "declined", reason="too busy", created=T0 + timedelta(hours=1)),
               doc("m3", "c", "b", "expired"), doc("m5", "e", "c", "proposed")]
    s = summarise(matches, PEOPLE, ["a", "b", "c", "d"], {"unmatched": {"d": ["no shared language"]}})
    assert s["matches"] == {"ended": 1, "accepted": 1, "declined": 1, "expired": 1, "proposed": 1}
    assert s["decline_reasons"] == {"too busy": 1}
    assert s["median_hours_to_match"] == 2.0  # running partnerships only: an ended one's last change is its end
    # a, b (accepted) and c (pending with e, who has left the pool) have a place; d has none
    assert s["unmatched"] == [{"person_id": "d", "display_name": "D", "department": "Sales",
                               "reason": "no shared language"}]
    assert (s["pool_people"], s["matched_people"]) == (4, 3)
    # formed pairs (proposed, accepted, ended), each department pair once with a <= b
    assert s["department_pairs"] == [["Finance", "Marketing", 1], ["Finance", "Sales", 2]]
    assert [mid for mid, _ in s["order"]] == ["m1", "m3", "m4", "m5", "m2"]  # created, then id


def test_a_person_with_no_reason_reported_waits_for_a_partner():
    s = summarise([], PEOPLE, ["a"], None)
    assert s["unmatched"][0]["reason"] == NO_PARTNER_YET and s["cohort"] is None and s["median_hours_to_match"] is None
