"""`PulledCopies`: a set of documents (a program's matches) loaded once, then pulled by `touched_at`,
agrees with a whole read of the set, even when transactions commit a while after they stamped their
writes, and after deletions once the full re-read has run."""

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.pulled import PulledCopies

T0 = datetime(2027, 1, 4, tzinfo=UTC)
KEY = ("acme", "pilot")
STATUSES = ("proposed", "accepted", "declined", "ended")


class Database:
    """Committed matches, and writes stamped now that commit `delay` seconds later."""

    def __init__(self) -> None:
        self.t = T0
        self.committed: dict[str, dict] = {}
        self.in_flight: list[tuple[datetime, dict]] = []
        self.reads: list[datetime | None] = []

    def write(self, match_id: str, status: str, delay: float) -> None:
        doc = {"_id": match_id, "person_a": "a" + match_id, "person_b": "b" + match_id, "status": status,
               "touched_at": self.t}
        self.in_flight.append((self.t + timedelta(seconds=delay), doc))
        self.advance(0)

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        due = [(at, d) for at, d in self.in_flight if at <= self.t]
        self.in_flight = [(at, d) for at, d in self.in_flight if at > self.t]
        for _, doc in sorted(due, key=lambda x: x[0]):
            self.committed[doc["_id"]] = doc

    async def pull(self, key, since=None):
        self.reads.append(since)
        return [dict(d) for d in self.committed.values() if since is None or d["touched_at"] > since]

    async def keys(self):
        return [("acme", "pilot")]


def ledger_of(db: Database, **kw) -> PulledCopies:
    return PulledCopies(db, clock=lambda: (db.t - T0).total_seconds(), now=lambda: db.t, **kw)


def statuses(rows) -> dict[str, str]:
    return {r["_id"]: r["status"] for r in rows}


async def test_the_first_read_loads_the_program_and_later_ones_pull_only_what_was_written_since():
    db = Database()
    for i in range(5):
        db.write(f"m{i}", "proposed", 0)
    ledger = ledger_of(db, overlap_s=10)
    assert statuses(await ledger.rows(KEY)) == {f"m{i}": "proposed" for i in range(5)}
    db.advance(30)
    db.write("m1", "accepted", 0)
    db.write("m9", "proposed", 0)
    got = await ledger.rows(KEY)
    assert statuses(got)["m1"] == "accepted" and len(got) == 6
    assert db.reads == [None, T0 - timedelta(seconds=10)]  # the overlap reaches back over the load
    db.advance(30)
    await ledger.rows(KEY)
    db.advance(30)
    db.write("m2", "declined", 0)
    pulled = ledger.pulled
    assert statuses(await ledger.rows(KEY))["m2"] == "declined"
    assert (ledger.loads, ledger.pulled - pulled) == (1, 1)  # nothing else was written in the last 40 s


async def test_a_write_that_commits_after_a_pull_but_within_the_overlap_is_pulled_next_time():
    db = Database()
    ledger = ledger_of(db, overlap_s=10)
    await ledger.rows(KEY)
    db.advance(1)
    db.write("late", "proposed", delay=8)  # stamped now, visible 8 s later
    db.advance(1)
    assert await ledger.rows(KEY) == []
    db.advance(8)
    assert statuses(await ledger.rows(KEY)) == {"late": "proposed"}


async def test_a_write_later_than_the_overlap_is_caught_by_the_full_read_in_the_background():
    db = Database()
    ledger = ledger_of(db, overlap_s=2, full_every_s=60)
    await ledger.rows(KEY)
    db.write("very-late", "proposed", delay=20)
    db.advance(5)
    await ledger.rows(KEY)
    db.advance(20)
    assert await ledger.rows(KEY) == []  # missed by the pulls
    db.advance(40)
    assert await ledger.rows(KEY) == []  # a full read is now started beside the answer
    await ledger.copies[KEY].reload  # type: ignore[misc]
    assert statuses(await ledger.rows(KEY)) == {"very-late": "proposed"}
    assert ledger.loads == 2


async def test_a_write_during_a_full_read_is_not_lost_when_the_read_replaces_the_copy():
    db = Database()
    ledger = ledger_of(db, overlap_s=0, full_every_s=10)
    await ledger.rows(KEY)
    db.advance(11)
    gate = asyncio.Event()
    real = db.pull

    async def slow_full_read(key, since=None):
        rows = await real(key, since)
        if since is None:
            await gate.wait()  # the whole read's snapshot is taken; a write lands before it is applied
        return rows

    db.pull = slow_full_read
    await ledger.rows(KEY)  # starts the full read
    await asyncio.sleep(0)
    db.advance(1)
    db.write("during", "accepted", 0)
    assert statuses(await ledger.rows(KEY)) == {"during": "accepted"}
    gate.set()
    await ledger.copies[KEY].reload  # type: ignore[misc]
    assert statuses(await ledger.rows(KEY)) == {"during": "accepted"}


writes = st.lists(st.tuples(st.integers(0, 7), st.sampled_from(STATUSES), st.floats(0, 9),
                            st.floats(0, 6), st.booleans()), max_size=40)


@settings(max_examples=150, deadline=None)
@given(writes)
def test_pulls_agree_with_a_whole_read_when_every_commit_lands_within_the_overlap(ops):
    """Any interleaving of writes (each committing up to 9 s after its stamp, the overlap being 10 s) and
    reads: once every write has committed, one more read equals a whole read of the program."""

    async def run() -> None:
        db = Database()
        ledger = ledger_of(db, overlap_s=10, full_every_s=10**9)
        for match, status, delay, pause, read in ops:
            db.write(f"m{match}", status, delay)
            db.advance(pause)
            if read:
                await ledger.rows(KEY)
        db.advance(10)
        assert statuses(await ledger.rows(KEY)) == statuses(db.committed.values())
        assert ledger.loads == 1

    asyncio.run(run())


async def test_a_deleted_document_leaves_the_copy_with_the_next_full_read():
    db = Database()
    db.write("gone", "ended", 0)
    ledger = ledger_of(db, overlap_s=1, full_every_s=60)
    assert statuses(await ledger.rows(KEY)) == {"gone": "ended"}
    del db.committed["gone"]  # e.g. removed by a TTL index
    db.advance(61)
    await ledger.rows(KEY)
    await ledger.copies[KEY].reload  # type: ignore[misc]
    assert await ledger.rows(KEY) == []
