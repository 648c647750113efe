"""Run the pipeline benchmark: offered-rate levels, the bulk import, the bare hop; print the table."""

import argparse
import asyncio
import contextlib
import json
import math
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from benchmarks.pipeline import population
from benchmarks.pipeline.hop import bare_hop_seconds
from benchmarks.pipeline.metrics import per_message, scrape
from benchmarks.pipeline.observe import EventWatch, MailWatch
from benchmarks.pipeline.report import render, seconds
from benchmarks.pipeline.stats import backlog_growth, percentile, sustained
from reciprocal.embedded import SERVICES, EmbeddedStack
from reciprocal.wire import stamp_envelope
from shared.contract.topics import TOPICS

HOPS = 3
"""Broker hops from submission to the proposal email: profiles.submitted, profiles.changed, matches.proposed."""

STAGES = {"submit->changed": "profiles", "changed->proposed": "matcher", "proposed->email": "notifier"}


@dataclass(frozen=True)
class Config:
    rates: tuple[float, ...] = (5, 20, 50, 100)
    duration_s: float = 30.0
    deadline_s: float = 30.0
    import_size: int = 10_000
    import_timeout_s: float = 600.0
    p99_bound_s: float = 10.0
    hop_samples: int = 200

    @classmethod
    def smoke(cls) -> "Config":
        return cls(rates=(5,), duration_s=4.0, deadline_s=30.0, import_size=20, import_timeout_s=60.0, hop_samples=50)


@dataclass
class Level:
    rate: float
    submitted: int
    arrived: int
    missing: int
    p50_s: float
    p95_s: float
    p99_s: float
    backlog_growth_per_s: float
    completed_per_s: float
    held: bool
    stage_p50_s: dict[str, float]
    stage_mean_s: dict[str, float]
    hop_p50_s: float
    hop_p99_s: float
    ratio_to_bare_hops: float
    breakdown: dict[str, dict[str, float]] | None


@dataclass
class BulkImport:
    size: int
    complete: bool
    changed_seen: int
    proposed_seen: int
    all_changed_s: float | None
    all_proposed_s: float | None
    changed_per_s: float
    proposed_per_s: float
    """People per second seen changed / proposed from the start of the import to the last one seen."""
    click_s: float | None = None
    """From the second acceptance of the warm-up pair's proposal, published once half the import's
    profiles.changed were seen, to its matches.accepted; None if it did not take effect."""


@dataclass
class Report:
    config: Config
    levels: list[Level] = field(default_factory=list)
    bulk: BulkImport | None = None
    started_at: str = ""
    seconds: float = 0.0

    @property
    def sustained_max(self) -> float | None:
        held = [level.rate for level in self.levels if level.held]
        return max(held) if held else None

    @property
    def capacity_per_s(self) -> float | None:
        """Completions per second at the highest offered rate: what the stack manages when overloaded."""
        return self.levels[-1].completed_per_s if self.levels else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sustained_max_per_s": self.sustained_max, "capacity_per_s": self.capacity_per_s}


Stacks = Callable[[], AbstractContextManager[EmbeddedStack]]


@contextlib.contextmanager
def fresh_stack() -> Iterator[EmbeddedStack]:
    """A new embedded stack per measurement, so one level's backlog never slows the next."""
    stack = EmbeddedStack()
    ok = False
    try:
        stack.start()
        yield stack
        ok = True
    finally:
        stack.stop(keep_workdir=not ok)
        if not ok:
            print(f"stack logs kept in {stack.workdir / 'logs'}")


async def _send(producer: AIOKafkaProducer, topic: str, payload: dict[str, Any]) -> asyncio.Future:
    event = stamp_envelope(topic, payload)
    return await producer.send(topic, json.dumps(event).encode(), key=str(event[TOPICS[topic].key_field]).encode())


async def _warm_up(producer: AIOKafkaProducer, org: str, events: EventWatch) -> None:
    """Configure the program and push one pair through: proves the program reached the matcher; not counted."""
    await (await _send(producer, "programs.configured", population.program(org)))
    await asyncio.sleep(1.0)
    warm = population.pair(org, 0)
    for person in warm:
        await (await _send(producer, "profiles.submitted", person))
    if not await events.wait_for({p["person_id"] for p in warm}, proposals=True, timeout=90):
        raise RuntimeError(f"the warm-up pair of {org} got no proposal within 90 s")


async def measure_level(stack: EmbeddedStack, rate: float, config: Config,
                        window: Callable[[str], None] | None = None) -> Level:
    """`window("start")` / `window("end")`: called where the load starts and where the emails are all in
    (or the deadline passed), beside the metrics scrapes (see cpu_split)."""
    org = f"bench{int(rate)}-{uuid.uuid4().hex[:6]}"
    hop = await bare_hop_seconds(stack.kafka_bootstrap, config.hop_samples)
    pairs = [population.pair(org, k) for k in range(1, max(1, round(rate * config.duration_s / 2)) + 1)]
    people = [p for two in pairs for p in two]
    addresses = {p["email"] for p in people}
    urls = {name: stack.service_url(name) for name in SERVICES}
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        async with EventWatch(stack.kafka_bootstrap, {org}) as events, \
                MailWatch(stack.maildir, addresses) as mail:
            await _warm_up(producer, org, events)
            if window:
                window("start")
            before = await scrape(urls)
            submitted: dict[str, float] = {}
            backlog: list[tuple[float, float]] = []

            async def sample_backlog() -> None:
                while True:
                    backlog.append((time.time(), len(submitted) - sum(1 for p in people
                                                                      if p["person_id"] in submitted
                                                                      and p["email"] in mail.arrived)))
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample_backlog())
            acks = []
            t0 = time.time()
            for i, person in enumerate(people):
                delay = t0 + i / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                submitted[person["person_id"]] = time.time()
                acks.append(await _send(producer, "profiles.submitted", person))
            t_end = time.time()
            await asyncio.gather(*acks)
            # mail arrives in the SMTP server's thread, which cannot set an asyncio.Event
            while not addresses <= mail.arrived.keys() and time.time() < t_end + config.deadline_s:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            sampler.cancel()
            if window:
                window("end")
            after = await scrape(urls)
    finally:
        await producer.stop()
    return _level(rate, config, pairs, submitted, mail.arrived, events, backlog, (t0, t_end), hop,
                  per_message(before, after))


def _level(rate: float, config: Config, pairs: list, submitted: dict[str, float], arrived: dict[str, float],
           events: EventWatch, backlog: list, window: tuple[float, float], hop: list[float],
           service_time: dict | None) -> Level:
    latencies: list[float] = []
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    for a, b in pairs:
        trigger = max(submitted[a["person_id"]], submitted[b["person_id"]])
        changed = [events.changed.get(p["person_id"]) for p in (a, b)]
        proposed = events.proposed.get(a["person_id"])
        for person in (a, b):
            email_at = arrived.get(person["email"])
            latencies.append(email_at - trigger if email_at is not None else math.inf)
            if email_at is not None and proposed is not None and None not in changed:
                stages["submit->changed"].append(max(changed) - trigger)
                stages["changed->proposed"].append(proposed - max(changed))
                stages["proposed->email"].append(email_at - proposed)
    done = [t for t in latencies if t != math.inf]
    missing = len(latencies) - len(done)
    t0, t_end = window
    times = sorted(arrived[p["email"]] for two in pairs for p in two if p["email"] in arrived)
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    growth = backlog_growth(backlog, t0, t_end)
    hop_p50 = statistics.median(hop)
    stage_mean = {name: statistics.fmean(v) if v else math.nan for name, v in stages.items()}
    breakdown = None
    if service_time is not None:
        breakdown = {}
        for stage, service in STAGES.items():
            spent = service_time[service]
            breakdown[stage] = {"stage_mean_s": stage_mean[stage], "handler_s": spent.handler_s, "db_s": spent.db_s,
                                "broker_and_waiting_s": stage_mean[stage] - spent.handler_s}
    return Level(
        rate=rate, submitted=len(latencies), arrived=len(done), missing=missing, p50_s=p50, p95_s=p95, p99_s=p99,
        backlog_growth_per_s=growth, completed_per_s=completion_rate(times),
        held=sustained(rate=rate, missing=missing, p99=p99, growth=growth, p99_bound=config.p99_bound_s),
        stage_p50_s={name: percentile(v, 50) for name, v in stages.items()}, stage_mean_s=stage_mean,
        hop_p50_s=hop_p50, hop_p99_s=percentile(hop, 99), ratio_to_bare_hops=p50 / (HOPS * hop_p50),
        breakdown=breakdown,
    )


def completion_rate(times: list[float]) -> float:
    """Proposal emails (one per person) per second from the first to the last: the offered rate while it is held,
    the capacity when it is not."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


async def measure_import(stack: EmbeddedStack, size: int, timeout: float) -> BulkImport:
    """`size` profiles published at once into one program; time until every `profiles.changed` and every
    person's `matches.proposed` is seen (by person id)."""
    org = f"bulk-{uuid.uuid4().hex[:6]}"
    people = [p for k in range(1, size // 2 + 1) for p in population.pair(org, k)]
    ids = {p["person_id"] for p in people}
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        async with EventWatch(stack.kafka_bootstrap, {org}) as events:
            await _warm_up(producer, org, events)
            t0 = time.time()
            acks = [await _send(producer, "profiles.submitted", p) for p in people]
            await asyncio.gather(*acks)
            deadline = time.monotonic() + timeout
            click = asyncio.create_task(_click_mid_import(producer, org, events, ids, timeout))
            changed = await events.wait_for(ids, proposals=False, timeout=timeout)
            proposed = changed and await events.wait_for(ids, proposals=True, timeout=deadline - time.monotonic())
            click_s = await click
    finally:
        await producer.stop()
    seen_changed = [events.changed[i] for i in ids if i in events.changed]
    seen_proposed = [events.proposed[i] for i in ids if i in events.proposed]
    def rate(seen: list[float]) -> float:
        return len(seen) / (max(seen) - t0) if seen and max(seen) > t0 else 0.0

    return BulkImport(
        size=len(people), complete=bool(proposed), changed_seen=len(seen_changed), proposed_seen=len(seen_proposed),
        all_changed_s=max(seen_changed) - t0 if changed else None,
        all_proposed_s=max(seen_proposed) - t0 if proposed else None,
        changed_per_s=rate(seen_changed), proposed_per_s=rate(seen_proposed), click_s=click_s,
    )


async def _click_mid_import(producer: AIOKafkaProducer, org: str, events: EventWatch, ids: set[str],
                            timeout: float) -> float | None:
    """Once half the import's profiles.changed are seen, both people of the warm-up pair accept their
    proposal; seconds from the second acceptance to its matches.accepted (None: not within 30 s)."""
    give_up = time.monotonic() + timeout
    while len(ids & events.changed.keys()) < len(ids) // 2 and time.monotonic() < give_up:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    warm = [p["person_id"] for p in population.pair(org, 0)]
    match_id = events.match_of[warm[0]]
    for person_id in warm:
        await (await _send(producer, "matches.responded", {"org_id": org, "match_id": match_id,
                                                           "person_id": person_id, "decision": "accept"}))
    sent = time.time()
    while match_id not in events.accepted and time.time() < sent + 30:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return events.accepted[match_id] - sent if match_id in events.accepted else None


def run(config: Config, stacks: Stacks = fresh_stack, progress: Callable[[str], None] = print) -> Report:
    report = Report(config, started_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    started = time.monotonic()
    for rate in config.rates:
        progress(f"offered {rate:g} profiles/s for {config.duration_s:g} s ...")
        with stacks() as stack:
            level = asyncio.run(measure_level(stack, rate, config))
        report.levels.append(level)
        progress(f"  p50 {seconds(level.p50_s, config.deadline_s)}, p99 {seconds(level.p99_s, config.deadline_s)}, "
                 f"{level.missing} of {level.submitted} missing")
    if config.import_size:
        progress(f"bulk import of {config.import_size} profiles ...")
        with stacks() as stack:
            report.bulk = asyncio.run(measure_import(stack, config.import_size, config.import_timeout_s))
    report.seconds = time.monotonic() - started
    return report


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds at one low rate and a tiny import")
    parser.add_argument("--rates", type=float, nargs="+", help="offered profiles/s (default 5 20 50 100)")
    parser.add_argument("--duration", type=float, help="seconds of offered load per rate (default 30)")
    parser.add_argument("--deadline", type=float, help="seconds after the last submission to wait (default 30)")
    parser.add_argument("--import-size", type=int, help="profiles in the bulk import (default 10000; 0 skips)")
    parser.add_argument("--import-timeout", type=float, help="seconds to wait for the import (default 600)")
    parser.add_argument("--p99-bound", type=float, help="p99 a sustained rate must stay under (default 10 s)")
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    config = Config.smoke() if args.smoke else Config()
    overrides = {"rates": tuple(args.rates) if args.rates else None, "duration_s": args.duration,
                 "deadline_s": args.deadline, "import_size": args.import_size,
                 "import_timeout_s": args.import_timeout, "p99_bound_s": args.p99_bound}
    return Config(**{**asdict(config), **{k: v for k, v in overrides.items() if v is not None}}), args


def main(argv: list[str] | None = None) -> None:
    config, args = parse_args(argv)
    report = run(config)
    print(render(report))
    if args.json_out:
        args.json_out.write_text(json.dumps(report.as_dict(), indent=2, default=str))
