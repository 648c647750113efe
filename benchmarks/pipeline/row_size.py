"""What a delivery row's size costs a guarded update on SecantusDB: the delivery loop's claim `$set`
(the ten state fields) on rows of about 2.8 KB (a delivery with its rendered body) and 0.4 KB
(without), in bulk writes of 8 with a commit, as the loop claims them.

    python -m benchmarks.pipeline.row_size [--rows 2000]

Prints milliseconds per row updated for each size."""

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pymongo import AsyncMongoClient, UpdateOne

from reciprocal.embedded import secantus_binary
from reciprocal.processes import free_port, spawn, stop, wait_for_port

BATCH = 8


async def measure(url: str, rows: int) -> dict[str, float]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, tz_aware=True)
    db = client["row_size"]
    now = datetime.now(UTC)
    results = {}
    for label, body in (("2.8 KB", "x" * 2400), ("0.4 KB", "")):
        coll = db[f"rows_{len(body)}"]
        await coll.create_index([("status", 1), ("next_attempt_at", 1)])
        await coll.create_index([("finished_at", 1)], expireAfterSeconds=10**9)
        await coll.insert_many([{"_id": f"d{i}", "status": "pending", "next_attempt_at": now, "version": 1,
                                 "html": body, "text": body[:200], "attempts": 0} for i in range(rows)])
        state = {"status": "sending", "attempts": 1, "next_attempt_at": now, "claimed_by": "a", "claim_run": "r",
                 "claimed_at": now, "lease_expires_at": now, "last_error": None, "finished_at": None, "version": 2}
        started = time.perf_counter()
        for start in range(0, rows, BATCH):
            ops = [UpdateOne({"_id": f"d{i}", "version": 1}, {"$set": state})
                   for i in range(start, min(start + BATCH, rows))]
            async with client.start_session() as session:
                await session.start_transaction()
                await coll.bulk_write(ops, ordered=False, session=session)
                await session.commit_transaction()
        results[label] = round((time.perf_counter() - started) / rows * 1000, 2)
    await client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="row-size-"))
    port = free_port()
    mongo = spawn([secantus_binary(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
                   "--log-level", "WARNING"], log=work / "mongo.log")
    try:
        wait_for_port(port, mongo, what="secantusd", log=work / "mongo.log")
        for label, ms in asyncio.run(measure(f"mongodb://127.0.0.1:{port}/?directConnection=true", args.rows)).items():
            print(f"{label} rows: {ms} ms per row updated (bulk writes of {BATCH} + commit)")
    finally:
        stop([mongo])


if __name__ == "__main__":
    main()
