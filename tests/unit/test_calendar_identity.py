"""A person's .ics feed (scheduler) and their emailed invites (notifier) name every session the same way,
so a calendar app holding both shows each session exactly once."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from services.notifier.domain import Contact, schedule_invite
from services.scheduler.domain import (
    FeedSeries,
    Participant,
    Scheduled,
    SeriesPlan,
    plan_series,
    reschedule,
    sessions_calendar,
)
from shared.calendar_identity import occurrences, series_uid
from shared.contract import ScheduleCreated, ScheduleUpdated, Session

ORG, MATCH, SCHEDULE = "acme", "m-1", "sch-m-1"
START = datetime(2027, 1, 4, tzinfo=UTC)
ANA = Participant("ana", "Ana", "Europe/London", availability=(("tue", "09:00", "17:00"),))
BEN = Participant("ben", "Ben", "America/New_York", availability=(("tue", "06:00", "12:00"),))
CONTACTS = {"ana": Contact("ana", ORG, "Ana", "ana@acme.test"), "ben": Contact("ben", ORG, "Ben", "ben@acme.test")}

Key = tuple[str, datetime | None]


class CalendarApp:
    """What a calendar app keeps (RFC 5545 / 5546): each event by UID, its instances by RECURRENCE-ID.

    A message carrying the master component replaces the whole event unless the stored one has a
    higher SEQUENCE; one carrying only instances updates those; CANCEL of the master removes the
    event. A feed (no METHOD) is read like a REQUEST."""

    def __init__(self) -> None:
        self.events: dict[str, tuple[int, dict[datetime | None, object]]] = {}

    def receive(self, data: bytes) -> None:
        calendar = Calendar.from_ical(data)
        method = str(calendar.get("METHOD", "PUBLISH"))
        by_uid = defaultdict(list)
        for component in calendar.walk("VEVENT"):
            by_uid[str(component["UID"])].append(component)
        for uid, components in by_uid.items():
            sequence = max(int(c.get("SEQUENCE", 0)) for c in components)
            stored_sequence, stored = self.events.get(uid, (-1, {}))
            if sequence < stored_sequence:
                continue
            has_master = any("RECURRENCE-ID" not in c for c in components)
            if method == "CANCEL":
                if has_master:
                    self.events.pop(uid, None)
                else:
                    self.events[uid] = (sequence, {k: v for k, v in stored.items()
                                                   if k not in {_rid(c) for c in components}})
                continue
            instances = {} if has_master else dict(stored)
            instances.update({_rid(c): c for c in components})
            self.events[uid] = (sequence, instances)

    def instances(self) -> dict[Key, object]:
        return {(uid, rid): c for uid, (_, found) in self.events.items() for rid, c in found.items()}


def _rid(component) -> datetime | None:
    return component.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in component else None


def times_found(app: CalendarApp, session: Session) -> int:
    return sum(1 for c in app.instances().values()
               if (c.decoded("DTSTART"), c.decoded("DTEND")) == (session.starts_at, session.ends_at))


def schedules(plan: SeriesPlan, ben_later: Participant, now_update: datetime):
    first = plan_series(MATCH, ANA, BEN, plan, now=START - timedelta(days=3)).sessions
    later = reschedule(first, ANA, ben_later, plan, now=now_update)
    fields = dict(org_id=ORG, schedule_id=SCHEDULE, match_id=MATCH, program_id=plan.program_id,
                  person_a="ana", person_b="ben")
    created = ScheduleCreated(**fields, sessions=first, version=1)
    updated = ScheduleUpdated(**fields, sessions=later, version=2)
    cancelled = ScheduleUpdated(**fields, sessions=later, version=3, cancelled=True)
    return created, updated, cancelled


def feed(event: ScheduleCreated | ScheduleUpdated) -> bytes:
    series = FeedSeries(event.org_id, event.schedule_id, event.version, event.sessions)
    return sessions_calendar("ana", "Ana", [series], summary_for=lambda s: f"Session {s.number}")


def invite(event: ScheduleCreated | ScheduleUpdated, method: str = "REQUEST") -> bytes:
    return schedule_invite(event, CONTACTS["ana"], CONTACTS, method=method, sequence=event.version)


def keys(data: bytes) -> dict[Key, tuple[datetime, datetime]]:
    return {(str(c["UID"]), _rid(c)): (c.decoded("DTSTART"), c.decoded("DTEND"))
            for c in Calendar.from_ical(data).walk("VEVENT")}


PLAN = SeriesPlan("prog-1", 60, "weekly", 6, START)
NARROWER_BEN = Participant("ben", "Ben", "America/New_York", availability=(("tue", "10:30", "12:00"),))


def test_the_feed_and_the_invite_give_every_session_the_same_uid_and_recurrence_id():
    created, updated, _ = schedules(PLAN, NARROWER_BEN, START + timedelta(days=9))
    for event in (created, updated):
        assert keys(feed(event)) == keys(invite(event))
        assert {uid for uid, _ in keys(feed(event))} == {series_uid(ORG, SCHEDULE)}
        assert len(keys(feed(event))) == len(event.sessions)


def test_a_calendar_with_the_feed_and_every_invite_shows_each_session_once():
    created, updated, cancelled = schedules(PLAN, NARROWER_BEN, START + timedelta(days=9))
    moved = {s.number for s, t in zip(created.sessions, updated.sessions, strict=True) if s.starts_at != t.starts_at}
    assert moved, "the update must move sessions for this test to mean something"
    app = CalendarApp()
    for data in (feed(created), invite(created)):
        app.receive(data)
    assert len(app.instances()) == len(created.sessions)
    assert all(times_found(app, s) == 1 for s in created.sessions)
    for data in (invite(updated), feed(updated)):
        app.receive(data)
    assert len(app.instances()) == len(updated.sessions)
    assert all(times_found(app, s) == 1 for s in updated.sessions)
    assert all(times_found(app, s) == 0 for s in created.sessions if s.number in moved)
    app.receive(invite(cancelled, "CANCEL"))
    assert app.instances() == {}


def test_tenants_and_schedules_never_share_a_series_uid():
    uids = {series_uid(org, schedule) for org in ("acme", "globex", "acme2") for schedule in ("sch-1", "sch-2")}
    assert len(uids) == 6 and series_uid("acme", "sch-1") == series_uid("acme", "sch-1")
    assert series_uid("a", "bc") != series_uid("ab", "c")


def test_occurrences_put_the_earliest_session_first_as_the_master():
    created, *_ = schedules(PLAN, NARROWER_BEN, START + timedelta(days=9))
    series = occurrences(reversed(created.sessions))
    assert [o.session.number for o in series] == sorted(s.number for s in created.sessions)
    assert series[0].recurrence_id is None
    assert [o.recurrence_id for o in series[1:]] == [s.starts_at for s in created.sessions[1:]]


ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@st.composite
def pairs(draw):
    day = draw(st.sampled_from(WEEKDAYS))
    def window(lo, hi):
        start = draw(st.integers(lo, hi))
        return (day, f"{start:02d}:00", f"{start + draw(st.integers(2, 6)):02d}:00")
    ana = Participant("ana", "Ana", draw(st.sampled_from(ZONES)), availability=(window(0, 17),))
    ben = Participant("ben", "Ben", draw(st.sampled_from(ZONES)), availability=(window(0, 17),))
    later = Participant("ben", "Ben", ben.timezone, availability=(window(0, 17),))
    plan = SeriesPlan("prog-1", 60, draw(st.sampled_from(["weekly", "biweekly", "monthly"])),
                      draw(st.integers(2, 20)), START + timedelta(days=draw(st.integers(0, 200))))
    return ana, ben, later, plan, draw(st.integers(0, 60)), draw(st.permutations(range(4)))


@settings(max_examples=60, deadline=None, database=None)
@given(pairs())
def test_whatever_the_schedule_and_the_arrival_order_each_session_is_found_once(case):
    ana, ben, later, plan, days_in, order = case
    first = plan_series(MATCH, ana, ben, plan, now=START)
    if not isinstance(first, Scheduled):
        return  # no shared slot: nothing to put in a calendar
    update_at = first.sessions[0].starts_at + timedelta(days=days_in)
    second = reschedule(first.sessions, ana, later, plan, now=update_at)
    fields = dict(org_id=ORG, schedule_id=SCHEDULE, match_id=MATCH, program_id="prog-1", person_a="ana",
                  person_b="ben")
    created = ScheduleCreated(**fields, sessions=first.sessions, version=1)
    updated = ScheduleUpdated(**fields, sessions=second, version=2)
    assert keys(feed(created)) == keys(invite(created)) and keys(feed(updated)) == keys(invite(updated))
    messages = [feed(created), invite(created), feed(updated), invite(updated)]
    app = CalendarApp()
    for i in order:
        app.receive(messages[i])
    assert len(app.instances()) == len(updated.sessions)
    assert all(times_found(app, s) == 1 for s in updated.sessions)
