from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from services.notifier.domain import schedule_invite, series_uid

SERIES_UID = series_uid("acme", "sch-1")


def parse(invite: bytes) -> tuple[Calendar, list]:
    calendar = Calendar.from_ical(invite)
    return calendar, list(calendar.walk("VEVENT"))


def test_request_parses_with_one_vevent_per_session_at_the_schedules_utc_times(make, ana, contacts):
    event = make.created()
    calendar, vevents = parse(schedule_invite(event, ana, contacts, method="REQUEST", sequence=0))
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    assert [(v["DTSTART"].dt, v["DTEND"].dt) for v in vevents] == [(s.starts_at, s.ends_at) for s in event.sessions]
    assert all(v["DTSTART"].dt.utcoffset() == timedelta(0) for v in vevents)
    assert b"DTSTART:20270112T143000Z" in calendar.to_ical()


def test_whole_series_shares_one_stable_uid_and_the_given_sequence(make, ana, bo, contacts):
    first = parse(schedule_invite(make.created(), ana, contacts, method="REQUEST", sequence=1))[1]
    later = parse(schedule_invite(make.updated(), bo, contacts, method="REQUEST", sequence=2))[1]
    assert {str(v["UID"]) for v in first + later} == {SERIES_UID}
    assert {int(v["SEQUENCE"]) for v in first} == {1} and {int(v["SEQUENCE"]) for v in later} == {2}


def test_later_sessions_are_rdates_of_the_master_and_overrides_of_themselves(make, ana, contacts):
    event = make.created()
    master, *overrides = parse(schedule_invite(event, ana, contacts, method="REQUEST", sequence=0))[1]
    assert "RECURRENCE-ID" not in master
    assert [d.dt for d in master["RDATE"].dts] == [s.starts_at for s in event.sessions[1:]]
    assert [o["RECURRENCE-ID"].dt for o in overrides] == [s.starts_at for s in event.sessions[1:]]
    assert [str(v["X-RECIPROCAL-SESSION-ID"]) for v in [master, *overrides]] == ["s-1", "s-2", "s-3", "s-4"]


def test_sessions_are_sorted_and_a_single_session_has_no_rdate(make, ana, contacts):
    late, early = make.session(2, make.first + timedelta(weeks=2)), make.session(1, make.first)
    invite = schedule_invite(make.created(sessions=[late, early]), ana, contacts, method="REQUEST", sequence=0)
    vevents = parse(invite)[1]
    assert [v["DTSTART"].dt for v in vevents] == [early.starts_at, late.starts_at]
    single = parse(schedule_invite(make.created(sessions=[early]), ana, contacts, method="REQUEST", sequence=0))[1]
    assert len(single) == 1 and "RDATE" not in single[0]


def test_invite_names_both_people_with_agenda_and_organizer(make, ana, bo, contacts):
    master, second, third, _ = parse(schedule_invite(make.created(), ana, contacts, method="REQUEST", sequence=0))[1]
    assert sorted(str(a) for a in master["ATTENDEE"]) == ["mailto:ana@acme.test", "mailto:bo@acme.test"]
    assert str(master["ORGANIZER"]).startswith("mailto:")
    assert "Ground rules" in str(master["DESCRIPTION"]) and "Goal step 2" in str(second["DESCRIPTION"])
    assert str(master["SUMMARY"]) == "Mentoring kickoff with Bo Chen"
    assert str(second["SUMMARY"]) == "Mentoring: you teach Bo Chen"
    assert str(third["SUMMARY"]) == "Mentoring: Bo Chen teaches you"
    bo_second = parse(schedule_invite(make.created(), bo, contacts, method="REQUEST", sequence=0))[1][1]
    assert str(bo_second["SUMMARY"]) == "Mentoring: Ana Silva teaches you"


def test_cancel_cancels_the_whole_series(make, ana, contacts):
    event = make.updated(cancelled=True, version=3)
    calendar, vevents = parse(schedule_invite(event, ana, contacts, method="CANCEL", sequence=3))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert len(vevents) == 1
    (master,) = vevents
    assert (str(master["UID"]), int(master["SEQUENCE"]), str(master["STATUS"])) == (SERIES_UID, 3, "CANCELLED")
    assert "RECURRENCE-ID" not in master
    assert master["DTSTART"].dt == event.sessions[0].starts_at


def test_cancel_without_sessions_still_parses(make, ana, contacts):
    invite = schedule_invite(make.updated(cancelled=True, sessions=[]), ana, contacts, method="CANCEL", sequence=4)
    calendar, (master,) = parse(invite)
    assert str(calendar["METHOD"]) == "CANCEL" and str(master["UID"]) == SERIES_UID and "DTSTART" not in master


def test_invite_is_deterministic_and_stamped_with_the_event_time(make, ana, contacts):
    event = make.created(occurred_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    invite = schedule_invite(event, ana, contacts, method="REQUEST", sequence=0)
    assert invite == schedule_invite(event, ana, contacts, method="REQUEST", sequence=0)
    assert parse(invite)[1][0]["DTSTAMP"].dt == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_rendered_sequence_follows_the_schedule_version(make, ana, contacts):
    from services.notifier.domain import render

    sequences = [int(parse(render(make.updated(version=v), ana, contacts).calendar)[1][0]["SEQUENCE"])
                 for v in (2, 3, 5)]
    assert sequences == [2, 3, 5]


@pytest.mark.parametrize("method, sequence", [("PUBLISH", 0), ("REQUEST", -1)])
def test_rejects_bad_method_or_sequence(make, ana, contacts, method, sequence):
    with pytest.raises(ValueError):
        schedule_invite(make.created(), ana, contacts, method=method, sequence=sequence)


def test_request_needs_sessions(make, ana, contacts):
    with pytest.raises(ValueError):
        schedule_invite(make.created(sessions=[]), ana, contacts, method="REQUEST", sequence=0)


def test_partner_from_another_tenant_is_not_invited(make, ana, bo, contacts):
    from dataclasses import replace

    people = {**contacts, bo.person_id: replace(bo, org_id="other")}
    (master, *_) = parse(schedule_invite(make.created(), ana, people, method="REQUEST", sequence=0))[1]
    assert str(master["ATTENDEE"]) == "mailto:ana@acme.test"


@pytest.mark.parametrize(("sender", "address", "name"), [
    ("Acme Mentoring <mentoring@acme.test>", "mailto:mentoring@acme.test", "Acme Mentoring"),
    ("mentoring@acme.test", "mailto:mentoring@acme.test", "Reciprocal"),
    ("not an address", "mailto:mentoring@reciprocal.local", "Reciprocal"),
])
def test_the_organizer_is_the_mail_sender(sender, address, name, make, ana, contacts):
    master = parse(schedule_invite(make.created(), ana, contacts, method="REQUEST", sequence=0, organizer=sender))[1][0]
    assert (str(master["ORGANIZER"]), str(master["ORGANIZER"].params["CN"])) == (address, name)


def test_rendered_invites_use_the_configured_sender(make, ana, contacts):
    from services.notifier.domain import Background, render

    background = Background(organizer="Acme Mentoring <mentoring@acme.test>")
    for event in (make.created(), make.updated(cancelled=True, version=3)):
        calendar = render(event, ana, contacts, background).calendar
        assert b'ORGANIZER;CN="Acme Mentoring":mailto:mentoring@acme.test' in calendar
        assert b"reciprocal.invalid" not in calendar
