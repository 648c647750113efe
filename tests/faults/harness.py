"""What the fault tests share: sizes, a counting tap, the pair chain a burst drives, and the counts.

Every count is taken from what the outside world sees (topics, the SMTP sink, each service's own
database) and keyed by *content*, not only by event_id: two proposals for one pair, or two emails of
one kind to one person, are a duplicated effect even when their event_ids differ.
"""

import asyncio
import json
import mailbox
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from importlib import import_module
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from support import PROGRAM, profile

from reciprocal.embedded import SERVICES, EmbeddedStack
from reciprocal.wire import Frontend, Tap
from services.matcher.domain import match_id

FULL = os.environ.get("RECIPROCAL_FAULTS", "smoke") == "full"

REPORT: list[str] = []  # one line per test, printed in the terminal summary


def size(smoke: int, full: int) -> int:
    return full if FULL else smoke


def report(name: str, started: float, **counts: Any) -> str:
    fields = " ".join(f"{k}={v}" for k, v in counts.items())
    line = f"FAULTS {name}: {fields} seconds={time.monotonic() - started:.1f}"
    REPORT.append(line)
    print(line)
    if path := os.environ.get("RECIPROCAL_FAULTS_REPORT"):  # e.g. a nightly job's artifact
        with open(path, "a") as out:
            out.write(line + "\n")
    return line


CHAIN_TOPICS = ["profiles.changed", "profiles.rejected", "matches.proposed", "matches.accepted", "schedules.created",
                "notifications.sent", "notifications.failed"]

# Each service, what it consumes and publishes: read from its declaration (the handler table), never
# listed again here.
SPECS = {name: import_module(f"services.{name}.app").SPEC for name in SERVICES}
CONSUMES = {name: [model.topic() for model in spec.handlers] for name, spec in SPECS.items()}
PUBLISHES = {name: [model.topic() for model in spec.publishes] for name, spec in SPECS.items()}
# What frontends publish (the notifier's link pages publish some of these too).
INGRESS = ["profiles.submitted", "profiles.withdrawn", "programs.configured", "programs.match-requested",
           "programs.match-approved", "matches.responded", "sessions.checked-in", "partnerships.end-requested",
           "profiles.erasure-requested"]


def consumers_of(topic: str) -> list[str]:
    return [svc for svc, topics in CONSUMES.items() if topic in topics]


def dlq_topics() -> list[str]:
    return sorted({f"{t}.dlq" for topics in CONSUMES.values() for t in topics})


class CountingTap(Tap):
    """A Tap that parses each record once and indexes it by topic (the fault bursts are large)."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        super().__init__(bootstrap, topics)
        self.by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.raw_by_topic: dict[str, list[Any]] = defaultdict(list)

    async def _pump(self) -> None:
        async for record in self.consumer:
            self.records.append(record)
            self.raw_by_topic[record.topic].append(record)
            try:
                value = json.loads(record.value)
            except ValueError:
                value = {"_raw": record.value}
            self.by_topic[record.topic].append(value if isinstance(value, dict) else {"_raw": record.value})
            self._arrived.set()

    def events(self, topic: str) -> list[dict[str, Any]]:
        return self.by_topic[topic]

    def of(self, topic: str, org: str) -> list[dict[str, Any]]:
        return [e for e in self.by_topic[topic] if e.get("org_id") == org]


def pair_people(org: str, pairs: int, program_id: str = "pilot") -> list[tuple[dict, dict]]:
    """Pairs whose skills only fit each other, so each pair is one proposal and nothing else."""
    out = []
    for i in range(pairs):
        x, y = f"craft{i:04d}x", f"craft{i:04d}y"
        a = profile(org, f"a{i:04d}", offers=[x], wants=[y], department="Finance", program_ids=[program_id])
        b = profile(org, f"b{i:04d}", offers=[y], wants=[x], department="Marketing", program_ids=[program_id])
        a["email"], b["email"] = f"a{i:04d}.{org}@example.com", f"b{i:04d}.{org}@example.com"
        out.append((a, b))
    return out


EMAIL_KINDS = {"New mentoring match proposed": "proposed", "You and ": "accepted",
               "Your mentoring sessions with": "scheduled", "Reminder:": "reminder"}


def email_kind(subject: str) -> str:
    return next((kind for prefix, kind in EMAIL_KINDS.items() if subject.startswith(prefix)), "other:" + subject[:30])


class Mails:
    """The SMTP sink's Maildir, read incrementally (headers only): To, Subject, Message-ID."""

    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.seen: dict[str, dict[str, str]] = {}

    def all(self) -> list[dict[str, str]]:
        if self.stack.maildir.exists():
            box = mailbox.Maildir(self.stack.maildir, create=False)
            for key in box.keys():
                if key not in self.seen:
                    head = BytesHeaderParser(policy=policy.default).parsebytes(box.get_bytes(key))
                    self.seen[key] = {"to": str(head["To"] or ""), "subject": str(head["Subject"] or ""),
                                      "id": str(head["Message-ID"] or "")}
        return list(self.seen.values())

    def of(self, org: str) -> list[dict[str, str]]:
        return [m for m in self.all() if org in m["to"]]


@dataclass
class Counts:
    expected: int = 0
    seen: int = 0
    lost: int = 0
    dup: int = 0  # a second effect for the same content (distinct event ids / Message-IDs)
    redelivered: int = 0  # the same event id / Message-ID more than once (at least once; consumers dedupe)
    unexpected: int = 0  # an effect nobody asked for (e.g. a proposal between strangers)

    def ok(self) -> bool:
        return self.lost == 0 and self.dup == 0 and self.unexpected == 0


def count_by_content(events: Iterable[dict[str, Any]], key: Callable[[dict], Any], expected: set,
                     ident: str = "event_id") -> Counts:
    ids: dict[Any, Counter] = defaultdict(Counter)
    for e in events:
        ids[key(e)][e.get(ident)] += 1
    c = Counts(expected=len(expected))
    for k, seen in ids.items():
        if k not in expected:
            c.unexpected += 1
            continue
        c.seen += 1
        c.dup += len(seen) - 1
        c.redelivered += sum(seen.values()) - len(seen)
    c.lost = len(expected - set(ids))
    return c


@dataclass
class Chain:
    """Drives pairs through the whole platform: submit, accept every proposal, and count each stage."""

    stack: EmbeddedStack
    fe: Frontend
    tap: CountingTap
    org: str
    pairs: list[tuple[dict, dict]]
    answered: set[str] = field(default_factory=set)
    respond: bool = True

    def __post_init__(self) -> None:
        self.mails = Mails(self.stack)

    @property
    def people(self) -> list[dict]:
        return [p for pair in self.pairs for p in pair]

    async def configure(self) -> None:
        await self.fe.publish("programs.configured", {"org_id": self.org, **PROGRAM})

    async def submit_all(self) -> None:
        for a, b in self.pairs:
            await self.fe.publish("profiles.submitted", a)
            await self.fe.publish("profiles.submitted", b)

    async def answer_new_proposals(self) -> None:
        if not self.respond:
            return
        for p in self.tap.of("matches.proposed", self.org):
            if p["match_id"] in self.answered:
                continue
            self.answered.add(p["match_id"])
            for person in (p["person_a"], p["person_b"]):
                await self.fe.publish("matches.responded", {"org_id": self.org, "match_id": p["match_id"],
                                                            "person_id": person, "decision": "accept"})

    async def until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        await drive_until(condition, timeout, what, self.answer_new_proposals, self.summary)
        await self.answer_new_proposals()

    # --- counts per stage ------------------------------------------------------------------------

    def changed(self) -> Counts:
        return count_by_content(self.tap.of("profiles.changed", self.org), lambda e: (e["person_id"], e["version"]),
                                {(p["person_id"], 1) for p in self.people})

    def proposed(self) -> Counts:
        return count_by_content(self.tap.of("matches.proposed", self.org),
                                lambda e: frozenset((e["person_a"], e["person_b"])),
                                {frozenset((a["person_id"], b["person_id"])) for a, b in self.pairs})

    def accepted(self) -> Counts:
        return count_by_content(self.tap.of("matches.accepted", self.org), lambda e: e["match_id"],
                                self._expected_match_ids())

    def scheduled(self) -> Counts:
        return count_by_content(self.tap.of("schedules.created", self.org), lambda e: e["match_id"],
                                self._expected_match_ids())

    def _expected_match_ids(self) -> set[str]:
        return {match_id(self.org, "pilot", *sorted((a["person_id"], b["person_id"]))) for a, b in self.pairs}

    def emails(self) -> Counts:
        kinds = ("proposed", "accepted", "scheduled")
        expected = {(p["email"], k) for p in self.people for k in kinds}
        mails = [{**m, "kind": email_kind(m["subject"])} for m in self.mails.of(self.org)]
        mails = [m for m in mails if m["kind"] != "reminder"]  # due by the clock, not caused by the burst
        return count_by_content(mails, lambda m: (m["to"], m["kind"]), expected, ident="id")

    def stages(self) -> dict[str, Counts]:
        return {"changed": self.changed(), "proposed": self.proposed(), "accepted": self.accepted(),
                "scheduled": self.scheduled(), "emails": self.emails()}

    def complete(self) -> bool:
        return all(c.lost == 0 for c in self.stages().values())

    def summary(self) -> str:
        return " ".join(
            f"{k}={c.seen}/{c.expected}(dup={c.dup},extra={c.unexpected})" for k, c in self.stages().items())


async def drive_until(condition: Callable[[], bool], timeout: float, what: str,
                      step: Callable[[], Awaitable[None]], summary: Callable[[], str], every: float = 0.2) -> None:
    """Do `step` (answer what the platform asked of the test) until `condition` holds, for at most `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        await step()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}: {summary()}")
        await asyncio.sleep(every)


def totals(stages: dict[str, Counts]) -> dict[str, int]:
    return {
        "effects": sum(c.seen for c in stages.values()),
        "expected": sum(c.expected for c in stages.values()),
        "lost": sum(c.lost for c in stages.values()),
        "dup": sum(c.dup for c in stages.values()),
        "unexpected": sum(c.unexpected for c in stages.values()),
        "redelivered": sum(c.redelivered for c in stages.values()),
    }


def new_org(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


_CLIENTS: dict[str, AsyncMongoClient] = {}


def database(stack: EmbeddedStack, service: str) -> Any:
    """The service's own database, read directly (one client per server for the whole session)."""
    client = _CLIENTS.setdefault(stack.mongo_url, AsyncMongoClient(stack.mongo_url, tz_aware=True))
    return client[f"reciprocal_{service}"]


def received(stack: EmbeddedStack, instance: str) -> float:
    """Messages the service's consumer has received (FastStream's Prometheus counter)."""
    text = httpx.get(f"{stack.service_url(instance)}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("faststream_received_messages_total{"))


def alive(stack: EmbeddedStack, services: Iterable[str] = SERVICES) -> dict[str, bool]:
    out = {}
    for name in services:
        proc = stack.procs.get(name)
        try:
            healthy = httpx.get(f"{stack.service_url(name)}/healthz", timeout=3).status_code == 200
        except httpx.HTTPError:
            healthy = False
        out[name] = proc is not None and proc.poll() is None and healthy
    return out


def dead_letters(tap: CountingTap, topic: str, key: bytes | None = None) -> list[Any]:
    return [r for r in tap.raw_by_topic[f"{topic}.dlq"] if key is None or r.key == key]
