from datetime import timedelta

from icalendar import Calendar
from scheduler_testkit import person, plan, utc

from services.scheduler.domain import (
    FeedSeries,
    pending_reminders,
    plan_series,
    reminder_due_at,
    reschedule,
    sessions_calendar,
)
from shared.calendar_identity import series_uid

ANA = person("p-ana", "Ana", "Europe/London", ("tue", "09:00", "12:00"))
BEN = person("p-ben", "Ben", "Asia/Kolkata", ("tue", "14:00", "18:00"))
OTHER = person("p-cy", "Cy", "Asia/Kolkata", ("tue", "14:00", "18:00"))
PLAN = plan("weekly", weeks=4, starts_on=utc(2027, 1, 4))


def sessions(a=ANA, b=BEN, match="m-1"):
    return plan_series(match, a, b, PLAN, now=utc(2027, 1, 1)).sessions


def summary(session):
    return "Kickoff" if session.kind == "kickoff" else f"Session {session.number}"


def test_reminder_is_24_hours_before_by_default():
    s = sessions()[0]
    assert reminder_due_at(s) == s.starts_at - timedelta(hours=24)
    assert reminder_due_at(s, hours_before=2) == s.starts_at - timedelta(hours=2)


def test_pending_reminders_cover_future_sessions_even_if_already_due():
    ss = sessions()
    now = ss[1].starts_at - timedelta(hours=1)  # session 2's reminder is overdue; session 1 is past
    assert pending_reminders(ss, now=now) == [(s.session_id, s.starts_at - timedelta(hours=24)) for s in ss[1:]]


def feed(*schedules, version=0):
    """Each list of sessions as the schedule `sch-<match>` of org acme, at `version`."""
    return [FeedSeries("acme", f"sch-{ss[0].session_id.split('-s')[0]}", version, ss) if ss
            else FeedSeries("acme", "sch-empty", version, ss) for ss in schedules]


def parse(data: bytes) -> Calendar:
    assert isinstance(data, bytes)
    return Calendar.from_ical(data)


def test_calendar_has_one_event_per_session_with_utc_times_and_stable_uids():
    ss = sessions()
    cal = parse(sessions_calendar("p-ana", "Ana", feed(ss), summary_for=summary, stamp=utc(2027, 1, 1)))
    events = cal.walk("VEVENT")
    assert {str(e["UID"]) for e in events} == {series_uid("acme", "sch-m-1")}
    master, *instances = events
    assert "RECURRENCE-ID" not in master and [d.dt for d in master["RDATE"].dts] == [s.starts_at for s in ss[1:]]
    assert [e.decoded("RECURRENCE-ID") for e in instances] == [s.starts_at for s in ss[1:]]
    assert [str(e["X-RECIPROCAL-SESSION-ID"]) for e in events] == [s.session_id for s in ss]
    for e, s in zip(events, ss, strict=True):
        start, end = e.decoded("DTSTART"), e.decoded("DTEND")
        assert start == s.starts_at and end == s.ends_at
        assert start.utcoffset() == timedelta(0)
        assert e.decoded("DTSTAMP") == utc(2027, 1, 1)
    assert str(events[0]["SUMMARY"]) == "Kickoff"
    assert "Ground rule" in str(events[0]["DESCRIPTION"])
    raw = sessions_calendar("p-ana", "Ana", feed(ss), summary_for=summary, stamp=utc(2027, 1, 1)).decode()
    assert "BEGIN:VCALENDAR" in raw and "VERSION:2.0" in raw and "PRODID:" in raw
    assert "DTSTART:20270105T" in raw and raw.count("BEGIN:VEVENT") == 4


def test_uid_survives_a_reschedule_and_sequence_is_passed_through():
    ss = sessions()
    moved = reschedule(ss, ANA, person("p-ben", "Ben", "Asia/Kolkata", ("tue", "16:00", "18:00")), PLAN,
                       now=utc(2027, 1, 6))
    before = parse(sessions_calendar("p-ana", "Ana", feed(ss), summary_for=summary))
    after = parse(sessions_calendar("p-ana", "Ana", feed(moved, version=2), summary_for=summary))
    assert [e["UID"] for e in before.walk("VEVENT")] == [e["UID"] for e in after.walk("VEVENT")]
    assert [e.decoded("DTSTART") for e in before.walk("VEVENT")] != [e.decoded("DTSTART") for e in after.walk("VEVENT")]
    assert {int(e["SEQUENCE"]) for e in after.walk("VEVENT")} == {2}


def test_only_the_persons_own_sessions_are_listed():
    mine, not_mine = sessions(), sessions(a=OTHER, b=BEN, match="m-2")
    cal = parse(sessions_calendar("p-ana", "Ana", feed(not_mine, mine), summary_for=summary))
    assert {str(e["UID"]) for e in cal.walk("VEVENT")} == {series_uid("acme", "sch-m-1")}


def test_empty_feed_is_still_a_valid_calendar():
    cal = parse(sessions_calendar("p-ana", "Ana", [], summary_for=summary))
    assert parse(sessions_calendar("p-ana", "Ana", feed([]), summary_for=summary)).walk("VEVENT") == []
    assert cal.walk("VEVENT") == [] and str(cal["VERSION"]) == "2.0"


def test_flagged_session_is_tentative_and_explained():
    s = sessions()[0].model_copy(update={"flagged": "No shared slot this week"})
    (event,) = parse(sessions_calendar("p-ana", "Ana", feed([s]), summary_for=summary)).walk("VEVENT")
    assert str(event["STATUS"]) == "TENTATIVE" and "No shared slot this week" in str(event["DESCRIPTION"])


def test_sequence_follows_each_sessions_own_schedule_version():
    mine, other = sessions(), sessions(a=ANA, b=OTHER, match="m-2")
    schedules = [*feed(mine, version=3), *feed(other, version=1)]
    cal = parse(sessions_calendar("p-ana", "Ana", schedules, summary_for=summary))
    assert {(str(e["UID"]), int(e["SEQUENCE"])) for e in cal.walk("VEVENT")} == {
        (series_uid("acme", "sch-m-1"), 3), (series_uid("acme", "sch-m-2"), 1)}
