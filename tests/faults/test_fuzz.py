"""Hypothesis-generated bad and near-valid events on every ingress topic, interleaved with valid
ones. None is lost: each one the contract refuses is a `<topic>.dlq` record for every consuming
group; each one it accepts is in every consuming service's processed-event ledger, and a submitted
profile is also answered (profiles.rejected if its content is bad, else profiles.changed). No
service crashes: the same processes are alive and /healthz answers.

The oracle is the contract itself (shared.contract models and the profiles content rules), so the
test follows the contract as it changes; what it checks is that nothing disappears."""

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from harness import INGRESS, CountingTap, alive, consumers_of, database, new_org, report, size
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support import PROGRAM, profile

from reciprocal.wire import Frontend
from services.profiles.domain import check_profile
from shared.contract import ProfileSubmitted
from shared.contract.topics import TOPICS
from shared.egress import EgressPolicy

EMBEDDED_EGRESS = EgressPolicy.of(embedded=True)  # the stack under test runs in the embedded mode
EVENTS = size(200, 2000)

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=24),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
HHMM_ISH = st.one_of(st.from_regex(r"\A[0-2]?\d:[0-6]\d\Z"), st.text(max_size=6))
ZONES = st.one_of(st.sampled_from(["Europe/London", "America/New_York", "UTC", "Asia/Kolkata", "Mars/Olympus",
                                   "", "europe/london", "GMT+25"]), st.text(max_size=12))
CONTENT = {  # near-valid profile content: well-formed, possibly unacceptable
    "timezone": ZONES,
    "email": st.one_of(st.emails(), st.text(max_size=12)),
    "display_name": st.text(max_size=12),
    "max_partners": st.integers(min_value=-2, max_value=8),
    "offers": st.lists(st.fixed_dictionaries({"skill": st.text(max_size=8), "level": st.integers(-1, 7)}), max_size=2),
    "wants": st.lists(st.fixed_dictionaries({"skill": st.text(max_size=8), "goal": st.one_of(st.none(), st.text(
        max_size=8)), "priority": st.integers(0, 4)}), max_size=2),
    "availability": st.lists(st.fixed_dictionaries({"weekday": st.sampled_from(["mon", "tue", "sun", "xyz"]),
                                                    "start": HHMM_ISH, "end": HHMM_ISH}), max_size=2),
    "channels": st.lists(st.sampled_from(["email", "inbox", "webhook", "sms"]), max_size=3),
    "meeting_modes": st.lists(st.sampled_from(["video", "phone", "in_person", "telepathy"]), max_size=2),
    "program_ids": st.lists(st.text(max_size=6), max_size=2),
}
MUTATION = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 40)),
    st.tuples(st.just("set"), st.integers(0, 40), JUNK),
    st.tuples(st.just("extra"), st.text(max_size=8), JUNK),
    st.sampled_from(sorted(CONTENT)).flatmap(lambda f: st.tuples(st.just("content"), st.just(f), CONTENT[f])),
)
MESSAGE = st.tuples(
    st.sampled_from([*INGRESS, "profiles.submitted"]),  # profiles.submitted twice as often
    st.one_of(
        st.just(("valid",)), st.just(("valid",)),
        st.tuples(st.just("mutate"), st.lists(MUTATION, min_size=1, max_size=3)),
        st.tuples(st.just("raw"), st.binary(max_size=40)),
        st.tuples(st.just("not_object"), JUNK),
        st.tuples(st.just("truncate"), st.integers(1, 300)),
    ),
)


def base(topic: str, org: str, i: int) -> dict:
    event = {"event_id": str(uuid.uuid4()), "event_type": topic, "occurred_at": datetime.now(UTC).isoformat(),
             "org_id": org}
    person = f"fz{i:05d}"
    payload = {
        "profiles.submitted": lambda: profile(org, person, offers=["sql"], wants=["excel"]),
        "profiles.withdrawn": lambda: {"person_id": person, "reason": "fuzz"},
        "programs.configured": lambda: {**PROGRAM, "program_id": f"fzp{i % 7}"},
        "programs.match-requested": lambda: {"program_id": f"fzp{i % 7}"},
        "matches.responded": lambda: {"match_id": f"m-fz{i}", "person_id": person, "decision": "accept"},
        "programs.match-approved": lambda: {"program_id": f"fzp{i % 7}", "preview_id": f"pv-fz{i}"},
        "sessions.checked-in": lambda: {"match_id": f"m-fz{i}", "person_id": person, "session_id": f"s-fz{i}",
                                        "happened": "yes", "learned": 4, "helped": 3},
        "profiles.erasure-requested": lambda: {"person_id": person},
        "partnerships.end-requested": lambda: {"match_id": f"m-fz{i}", "person_id": person, "reason": "goals_met"},
    }[topic]()
    return {**event, **payload}


def apply(event: dict, how: tuple) -> bytes:
    kind = how[0]
    if kind == "valid":
        return json.dumps(event).encode()
    if kind == "raw":
        return b"\xfe" + how[1]  # never valid UTF-8 JSON
    if kind == "not_object":
        return json.dumps(how[1]).encode()
    if kind == "truncate":
        text = json.dumps(event).encode()
        return text[: min(how[1], len(text) - 1)]
    keys = [k for k in event if k != "event_id"]  # the ledger is found by event_id: keep it present
    for m in how[1]:
        if m[0] == "drop" and keys:
            event.pop(keys[m[1] % len(keys)], None)
        elif m[0] == "set" and keys:
            event[keys[m[1] % len(keys)]] = m[2]
        elif m[0] == "extra":
            event.setdefault(m[1], m[2])
        elif m[0] == "content":
            event[m[1]] = m[2]
        keys = [k for k in event if k != "event_id"]
    return json.dumps(event).encode()


@dataclass
class Sent:
    topic: str
    key: bytes
    value: bytes
    event_id: str | None  # set when the contract accepts it
    answer: str | None  # profiles.submitted accepted: "rejected" or "changed"
    person_id: str | None = None


def expectation(topic: str, key: bytes, value: bytes) -> Sent:
    model = TOPICS[topic].model
    try:
        event = model.model_validate_json(value)
    except ValidationError:
        return Sent(topic, key, value, None, None)
    answer = None
    if isinstance(event, ProfileSubmitted):
        answer = "rejected" if check_profile(event, EMBEDDED_EGRESS) else "changed"
    return Sent(topic, key, value, str(event.event_id), answer, getattr(event, "person_id", None))


def corpus(org: str, n: int) -> list[Sent]:
    out: list[Sent] = []

    @settings(max_examples=n, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(MESSAGE)
    def collect(message: tuple) -> None:
        topic, how = message
        i = len(out)
        key = f"fz-{org}-{i}".encode()
        out.append(expectation(topic, key, apply(base(topic, org, i), how)))

    collect()
    return out


@pytest.mark.timeout(1200)
async def test_generated_bad_and_near_valid_events_are_all_answered(stack):
    started = time.monotonic()
    org = new_org("fuzz")
    sent = corpus(org, EVENTS)
    while len(sent) < EVENTS:  # hypothesis may stop early on a small space; top up with more runs
        sent += [s for s in corpus(org, EVENTS - len(sent))]
    pids = {name: proc.pid for name, proc in stack.procs.items()}
    topics = ["profiles.changed", "profiles.rejected", *(f"{t}.dlq" for t in INGRESS)]
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, topics) as tap:
        valid_profile = profile(org, "steady", offers=["sql"], wants=["excel"])
        for i, s in enumerate(sent):
            await fe.publish_raw(s.topic, s.value, key=s.key)
            if i % 50 == 0:  # valid traffic keeps flowing in between
                await fe.publish("profiles.submitted", {**valid_profile, "display_name": f"Steady {i}"})

        def missing() -> dict[str, int]:
            return outstanding(tap, sent, ledgers, org)

        ledgers: dict[str, set[str]] = {}
        deadline = time.monotonic() + 300 + 0.5 * EVENTS
        while True:
            ledgers = await ledger_ids(stack, sent)
            gaps = missing()
            if not any(gaps.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
    health = alive(stack)
    same = all(stack.procs[n].pid == pid for n, pid in pids.items() if n in stack.procs)
    bad = sum(1 for s in sent if s.event_id is None)
    report("fuzz", started, events=len(sent), bad=bad, valid=len(sent) - bad,
           rejected=sum(1 for s in sent if s.answer == "rejected"),
           dead_letters=sum(len(tap.raw_by_topic[f"{t}.dlq"]) for t in INGRESS),
           lost=sum(gaps.values()), **{f"lost_{k}": v for k, v in gaps.items() if v},
           alive=sum(health.values()), restarted=not same)
    assert len(sent) >= EVENTS
    assert not any(gaps.values()), gaps
    assert all(health.values()) and same, health


async def ledger_ids(stack, sent: list[Sent]) -> dict[str, set[str]]:
    ids = [s.event_id for s in sent if s.event_id]
    out = {}
    for svc in {g for s in sent for g in consumers_of(s.topic)}:
        db = database(stack, svc)
        rows = await db["processed_events"].find({"event_id": {"$in": ids}}, {"event_id": 1}).to_list(None)
        out[svc] = {r["event_id"] for r in rows}
    return out


def unique_people(sent: list[Sent]) -> set[str]:
    """People submitted once: a second accepted profile of one person may rightly change nothing."""
    times = Counter(s.person_id for s in sent if s.topic == "profiles.submitted" and s.event_id)
    return {p for p, n in times.items() if n == 1}


def outstanding(tap: CountingTap, sent: list[Sent], ledgers: dict[str, set[str]], org: str) -> dict[str, int]:
    """What has not happened yet, by kind of answer."""
    dead = {(r.topic[: -len(".dlq")], r.key, dict(r.headers).get("dlq-consumer-group", b"").decode())
            for t in INGRESS for r in tap.raw_by_topic[f"{t}.dlq"]}
    rejected = {e.get("rejected_event_id") for e in tap.events("profiles.rejected")}
    changed = {(e.get("org_id"), e.get("person_id")) for e in tap.events("profiles.changed")}
    gaps = {"dead_letter": 0, "ledger": 0, "rejected": 0, "changed": 0, "valid_dead_lettered": 0}
    unique = unique_people(sent)
    for s in sent:
        groups = consumers_of(s.topic)
        if s.event_id is None:
            gaps["dead_letter"] += sum((s.topic, s.key, f"reciprocal-{g}") not in dead for g in groups)
            continue
        gaps["ledger"] += sum(s.event_id not in ledgers.get(g, set()) for g in groups)
        gaps["valid_dead_lettered"] += sum((s.topic, s.key, f"reciprocal-{g}") in dead for g in groups)
        if s.answer == "rejected":
            gaps["rejected"] += s.event_id not in rejected
        elif s.answer == "changed" and s.person_id in unique:
            org_of = json.loads(s.value).get("org_id")
            gaps["changed"] += (org_of, s.person_id) not in changed
    return gaps
