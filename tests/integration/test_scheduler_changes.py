"""The scheduler on the real stack after a schedule exists: an availability change, a withdrawal,
and the calendar feed seen from another org."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import icalendar
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
ANNA_TUESDAY = [{"weekday": "tue", "start": "13:00", "end": "17:00"}]
BERT_TUESDAY = [{"weekday": "tue", "start": "08:00", "end": "12:00"}]  # New York: anna's 13-17 London
EVERY_REMINDER_DUE = str(24 * 7 * 104)  # with this lead every reminder of a series is due at once


def march_monday() -> datetime:
    """A Monday early next March: New York switches to summer time ~2 weeks before London."""
    now = datetime.now(UTC)
    year = now.year + (1 if now >= datetime(now.year, 2, 15, tzinfo=UTC) else 0)
    day = datetime(year, 3, 1, tzinfo=UTC)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def minutes_of(local: datetime) -> int:
    return local.hour * 60 + local.minute


def inside(windows: list[dict], start: datetime, tz: ZoneInfo, minutes: int = 60) -> bool:
    local = start.astimezone(tz)
    begin = minutes_of(local)
    return any(w["weekday"] == local.strftime("%a").lower()
               and int(w["start"][:2]) * 60 + int(w["start"][3:]) <= begin
               and begin + minutes <= int(w["end"][:2]) * 60 + int(w["end"][3:]) for w in windows)


async def setup_pair(fe: Frontend, org: str, match_id: str, a: dict, b: dict) -> None:
    for p in (a, b):
        await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
    await fe.publish("matches.accepted", {"org_id": org, "match_id": match_id, "program_id": "pilot",
                                          "person_a": a["person_id"], "person_b": b["person_id"]})


def for_match(events: list[dict], match_id: str) -> list[dict]:
    return [e for e in events if e["match_id"] == match_id]


async def test_an_availability_change_moves_only_the_sessions_that_no_longer_fit(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    program = {**PROGRAM, "cadence": "weekly", "duration_weeks": 6, "starts_on": march_monday().isoformat()}
    anna = profile(org, "anna", offers=["leadership"], wants=["python"], windows=ANNA_TUESDAY)
    bert = profile(org, "bert", offers=["python"], wants=["leadership"], tz="America/New_York", windows=BERT_TUESDAY)
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["schedules.created",
                                                                                   "schedules.updated"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **program})
        await setup_pair(fe, org, "m-move", anna, bert)
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
        # Bert's mornings get shorter: 08:00-10:30. While New York is on summer time and London is
        # not, the usual 14:30 London session (10:30 New York) no longer fits him.
        shorter = [{"weekday": "tue", "start": "08:00", "end": "10:30"}]
        changed = ProfileChanged(**{**bert, "availability": shorter}, version=2, changed_fields=["availability"])
        await fe.publish("profiles.changed", changed.model_dump(mode="json"))
        await tap.wait_for(lambda t: of_org(t.events("schedules.updated"), org), what="schedules.updated")
        await tap.settle("schedules.updated", quiet=2.0)
    (created,) = of_org(tap.events("schedules.created"), org)
    (updated,) = of_org(tap.events("schedules.updated"), org)
    assert updated["version"] > created["version"] == 1 and not updated["cancelled"]
    assert [s["session_id"] for s in updated["sessions"]] == [s["session_id"] for s in created["sessions"]]
    kept = moved = 0
    for old, new in zip(created["sessions"], updated["sessions"]):
        old_start, new_start = datetime.fromisoformat(old["starts_at"]), datetime.fromisoformat(new["starts_at"])
        assert old_start > datetime.now(UTC)
        if inside(shorter, old_start, NEW_YORK):
            assert new == old
            kept += 1
        else:
            assert new_start != old_start and new["flagged"] is None
            assert inside(ANNA_TUESDAY, new_start, LONDON) and inside(shorter, new_start, NEW_YORK)
            assert old_start.date() - timedelta(days=old_start.weekday()) == \
                new_start.date() - timedelta(days=new_start.weekday())
            moved += 1
    assert kept and moved

    url = stack.service_url("scheduler")
    read = httpx.get(f"{url}/matches/m-move/schedule", headers=bearer(stack, org)).json()
    assert read["version"] == updated["version"] and read["sessions"] == updated["sessions"]
    ics = httpx.get(f"{url}/people/anna/sessions.ics", headers=bearer(stack, org))
    events = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert len(events) == 6 and {int(e["SEQUENCE"]) for e in events} == {updated["version"]}


async def test_a_withdrawn_match_cancels_the_sessions_ahead_and_their_reminders(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    stack.restart_service("scheduler", kill=False, RECIPROCAL_REMINDER_HOURS_BEFORE=EVERY_REMINDER_DUE,
                          RECIPROCAL_TIMER_POLL_S="3600")
    topics = ["schedules.created", "schedules.updated", "sessions.upcoming"]
    try:
        async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
            await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
            await setup_pair(fe, org, "m-gone", profile(org, "ann", offers=["a"], wants=["b"]),
                             profile(org, "bob", offers=["b"], wants=["a"]))
            await setup_pair(fe, org, "m-kept", profile(org, "cat", offers=["a"], wants=["b"]),
                             profile(org, "dan", offers=["b"], wants=["a"]))
            await tap.wait_for(lambda t: len(of_org(t.events("schedules.created"), org)) == 2, what="both series")
            await fe.publish("matches.withdrawn", {"org_id": org, "match_id": "m-gone", "program_id": "pilot",
                                                   "person_a": "ann", "person_b": "bob", "reason": "ended"})
            await tap.wait_for(lambda t: of_org(t.events("schedules.updated"), org), what="the cancellation")

            # Every reminder left is due now: the kept series' fire, the withdrawn one's must not.
            stack.restart_service("scheduler", kill=False, RECIPROCAL_REMINDER_HOURS_BEFORE=EVERY_REMINDER_DUE,
                                  RECIPROCAL_TIMER_POLL_S="0.2")
            created = {e["match_id"]: e for e in of_org(tap.events("schedules.created"), org)}
            kept = len(created["m-kept"]["sessions"])
            await tap.wait_for(lambda t: len(for_match(of_org(t.events("sessions.upcoming"), org), "m-kept")) >= kept,
                               what="the kept series' reminders")
            await tap.settle("sessions.upcoming", quiet=2.0)
        (cancel,) = of_org(tap.events("schedules.updated"), org)
        assert cancel["match_id"] == "m-gone" and cancel["cancelled"] is True
        assert cancel["version"] == 2 and cancel["sessions"] == created["m-gone"]["sessions"]
        assert for_match(of_org(tap.events("sessions.upcoming"), org), "m-gone") == []
        url = stack.service_url("scheduler")
        read = httpx.get(f"{url}/matches/m-gone/schedule", headers=bearer(stack, org)).json()
        assert read["status"] == "cancelled" and read["sessions"] == []
        feed = httpx.get(f"{url}/people/ann/sessions.ics", headers=bearer(stack, org))
        assert icalendar.Calendar.from_ical(feed.content).walk("VEVENT") == []
    finally:
        stack.restart_service("scheduler", kill=False)


async def test_the_same_person_and_match_ids_in_another_org_see_nothing_of_this_org(stack):
    here, there = f"org-{uuid.uuid4().hex[:6]}", f"org-{uuid.uuid4().hex[:6]}"
    windows = {here: [{"weekday": "tue", "start": "09:00", "end": "12:00"}],
               there: [{"weekday": "thu", "start": "09:00", "end": "12:00"}]}
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["schedules.created"]) as tap:
        for org in (here, there):
            await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
            await setup_pair(fe, org, "m-same", profile(org, "anna", offers=["a"], wants=["b"], windows=windows[org]),
                             profile(org, "bert", offers=["b"], wants=["a"], windows=windows[org]))
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), here)
                           and of_org(t.events("schedules.created"), there), what="both orgs' series")
    url = stack.service_url("scheduler")
    for org, weekday in ((here, 1), (there, 3)):
        feed = httpx.get(f"{url}/people/anna/sessions.ics", headers=bearer(stack, org))
        events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
        assert len(events) == 4 and {e.decoded("DTSTART").astimezone(LONDON).weekday() for e in events} == {weekday}
        read = httpx.get(f"{url}/matches/m-same/schedule", headers=bearer(stack, org)).json()
        assert {datetime.fromisoformat(s["starts_at"]).weekday() for s in read["sessions"]} == {weekday}
    stranger = httpx.get(f"{url}/people/anna/sessions.ics", headers=bearer(stack, f"org-{uuid.uuid4().hex[:6]}"))
    assert stranger.status_code == 404 and b"VEVENT" not in stranger.content
