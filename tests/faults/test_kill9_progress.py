"""kill -9 of the progress service in the middle of a burst, then a restart: every partnership has its
sessions, every session that ended and is not answered yet is asked about exactly once
(`checkins.requested`), and every check-in counts once in the learning balance.

The burst goes to progress's own input topics, as the matcher and the scheduler publish them: the chain
of the other kill -9 tests schedules sessions weeks ahead, and progress acts only once a session is
over. Each pair is an accepted match and its schedule (two sessions that are over) and one check-in;
a check-in that overtakes its schedule (another topic) is refused as "not known yet", and the test
sends it again, as the refusal asks a frontend to."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from harness import CountingTap, Counts, count_by_content, drive_until, new_org, report, size, totals
from support import bearer

from reciprocal.wire import Frontend

SUBMISSIONS = size(50, 500)
"""Events of the burst's schedules and acceptances (two per pair), as in the other kill -9 tests; the
check-ins come on top."""
SESSIONS = 2
TOPICS = ["partnerships.balance-changed", "checkins.requested", "sessions.checkin-rejected", "sessions.checked-in.dlq",
          "matches.accepted.dlq", "schedules.created.dlq"]


def pairs(org: str, n: int) -> list[tuple[str, str, str]]:
    return [(f"{org}-m{i:04d}", f"a{i:04d}", f"b{i:04d}") for i in range(n)]


def accepted(org: str, match_id: str, a: str, b: str) -> dict[str, Any]:
    return {"org_id": org, "match_id": match_id, "program_id": "pilot", "person_a": a, "person_b": b,
            "a_teaches_b": [{"skill": "leadership", "goal": "run my first team meeting"}],
            "b_teaches_a": [{"skill": "python", "goal": "automate my reports"}]}


def schedule(org: str, match_id: str, a: str, b: str) -> dict[str, Any]:
    """Two sessions of an hour that ended two and one day ago: the kickoff, then a teaching one."""
    now = datetime.now(UTC)
    sessions = []
    for number in range(1, SESSIONS + 1):
        starts = now - timedelta(days=SESSIONS + 1 - number, hours=1)
        teaching = number > 1
        sessions.append({"session_id": f"{match_id}-s{number:02d}", "number": number,
                         "kind": "teaching" if teaching else "kickoff", "starts_at": starts.isoformat(),
                         "ends_at": (starts + timedelta(hours=1)).isoformat(), "mode": "video",
                         "teacher": a if teaching else None, "learner": b if teaching else None,
                         "agenda": ["Ground rules"], "local_times": []})
    return {"org_id": org, "schedule_id": f"sch-{match_id}", "match_id": match_id, "program_id": "pilot",
            "person_a": a, "person_b": b, "version": 1, "sessions": sessions}


def checkin(org: str, match_id: str, b: str) -> dict[str, Any]:
    """The learner of the teaching session says it happened."""
    return {"org_id": org, "match_id": match_id, "session_id": f"{match_id}-s{SESSIONS:02d}", "person_id": b,
            "happened": "yes", "learned": 4}


class Burst:
    """Publishes the burst, sends a refused check-in again, and counts the effects."""

    def __init__(self, fe: Frontend, tap: CountingTap, org: str, n: int) -> None:
        self.fe, self.tap, self.org = fe, tap, org
        self.pairs = pairs(org, n)
        self.learner = {m: b for m, _, b in self.pairs}
        self.checkins: dict[str, str] = {}  # match_id -> event_id of its latest check-in
        self.refusals_seen = 0
        self.resent = 0

    async def publish(self) -> None:
        for match_id, a, b in self.pairs:
            await self.fe.publish("matches.accepted", accepted(self.org, match_id, a, b))
            await self.fe.publish("schedules.created", schedule(self.org, match_id, a, b))
            await self._check_in(match_id)

    async def _check_in(self, match_id: str) -> None:
        sent = await self.fe.publish("sessions.checked-in", checkin(self.org, match_id, self.learner[match_id]))
        self.checkins[match_id] = sent["event_id"]

    async def resend_refused(self) -> None:
        refusals = self.tap.of("sessions.checkin-rejected", self.org)
        for refusal in refusals[self.refusals_seen:]:
            if self.checkins.get(refusal["match_id"]) == refusal["rejected_event_id"]:
                self.resent += 1
                await self._check_in(refusal["match_id"])
        self.refusals_seen = len(refusals)

    async def until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        await drive_until(condition, timeout, what, self.resend_refused, self.summary, every=0.5)

    def requested(self) -> Counts:
        """The kickoff is asked about once per partnership. The teaching session is asked about at most
        once: not at all if the learner's check-in came before its timer fired (it is answered)."""
        kickoffs = {f"{m}-s01" for m, _, _ in self.pairs}
        requests = self.tap.of("checkins.requested", self.org)
        asked = count_by_content([e for e in requests if e["session_id"] in kickoffs], lambda e: e["session_id"],
                                 kickoffs)
        teaching = [e for e in requests if e["session_id"] not in kickoffs]
        repeats = count_by_content(teaching, lambda e: e["session_id"], {e["session_id"] for e in teaching})
        asked.dup += repeats.dup
        asked.redelivered += repeats.redelivered
        asked.unexpected += len({e["session_id"] for e in teaching} - {f"{m}-s02" for m, _, _ in self.pairs})
        return asked

    def balances(self) -> Counts:
        """One count per partnership whose latest ledger has its sessions, both asked about, and the
        check-in held; a ledger version published twice with different event ids is a duplicate."""
        latest: dict[str, dict[str, Any]] = {}
        for e in self.tap.of("partnerships.balance-changed", self.org):
            if e["version"] >= latest.get(e["match_id"], {}).get("version", 0):
                latest[e["match_id"]] = e
        done = [e for e in latest.values()
                if (e["sessions_scheduled"], e["sessions_due"], e["sessions_held"]) == (SESSIONS, SESSIONS, 1)
                and (e["a_teaches_b"]["held"], e["a_teaches_b"]["learned_ratings"]) == (1, 1)]
        versions = count_by_content(self.tap.of("partnerships.balance-changed", self.org),
                                    lambda e: (e["match_id"], e["version"]),
                                    {(e["match_id"], e["version"]) for e in self.tap.of("partnerships.balance-changed",
                                                                                        self.org)})
        expected = {m for m, _, _ in self.pairs}
        return Counts(expected=len(expected), seen=len(done), lost=len(expected - {e["match_id"] for e in done}),
                      dup=versions.dup, redelivered=versions.redelivered,
                      unexpected=len(set(latest) - expected))

    def stages(self) -> dict[str, Counts]:
        return {"requested": self.requested(), "balances": self.balances()}

    def complete(self) -> bool:
        return all(c.lost == 0 for c in self.stages().values())

    def summary(self) -> str:
        return " ".join(f"{k}={c.seen}/{c.expected}(dup={c.dup},extra={c.unexpected})"
                        for k, c in self.stages().items())


async def wait_for_thresholds(stack: Any, org: str, timeout: float = 60.0) -> None:
    """Progress has the program's thresholds (check-ins are asked for as soon as a session ends)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(headers=bearer(stack, org), timeout=5) as client:
        while True:
            answer = await client.get(f"{stack.service_url('progress')}/programs/pilot/outcomes")
            if answer.status_code == 200 and answer.json()["thresholds"]["checkin_after_minutes"] == 0:
                return
            assert time.monotonic() < deadline, "progress never had the program's thresholds"
            await asyncio.sleep(0.2)


@pytest.mark.faults_full  # waits about a minute for the database to reap the killed process's transaction
@pytest.mark.timeout(1800)
async def test_kill_9_of_progress_mid_burst_loses_and_duplicates_nothing(stack):
    started = time.monotonic()
    org = new_org("k9pro")
    n = SUBMISSIONS // 2
    budget = 120 + 2.0 * SUBMISSIONS
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, TOPICS) as tap:
        await fe.publish("programs.configured", {"org_id": org, "program_id": "pilot", "name": "Pilot",
                                                 "checkin_after_minutes": 0})
        await wait_for_thresholds(stack, org)
        burst = Burst(fe, tap, org, n)
        await burst.publish()
        third = max(1, n // 3)
        await burst.until(lambda: len({e["match_id"] for e in tap.of("partnerships.balance-changed", org)}) >= third,
                          budget, "a third of the partnerships' first ledgers")
        at_kill = burst.summary()
        stack.restart_service("progress")  # SIGKILL, then a fresh process under the same instance id
        await burst.until(burst.complete, budget, "every effect of every pair")
        await tap.settle("checkins.requested", quiet=3.0)
        stages = burst.stages()
        dead = sum(len(tap.of(t, org)) for t in TOPICS if t.endswith(".dlq"))
    counts = totals(stages)
    report("kill9[progress]", started, submitted=SUBMISSIONS, checkins=n, resent=burst.resent, **counts,
           dead_letters=dead, at_kill=f"'{at_kill}'")
    assert counts["lost"] == 0, burst.summary()
    assert counts["dup"] == 0 and counts["unexpected"] == 0, burst.summary()
    assert dead == 0
