"""The notifier's delivery loop alone: N due email deliveries, a real SecantusDB and a real SMTP sink
(aiosmtpd writing a Maildir), both as local processes; the notifier's own `Deliverer` sends them all.

    python -m benchmarks.pipeline.delivery_loop [--deliveries 600] [--concurrency N]

Prints the emails per second and the database commands per delivery, by command (counted with
PyMongo's command monitoring on the deliverer's own client), so a change to the loop can be judged
by its round trips as well as by its time. No broker and no other service run."""

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from pymongo import monitoring

from reciprocal.embedded import secantus_binary
from reciprocal.processes import free_port, spawn, stop, wait_for_port
from services.notifier.adapters.repository import NotifierRepository, delivery_doc
from services.notifier.domain import Contact, Delivery
from services.notifier.handlers import Deliverer
from services.notifier.settings import NotifierSettings
from shared.store import Store, UnitOfWork

ORG = "bench-org"


class Commands(monitoring.CommandListener):
    """Counts the commands sent to the server (one round trip each)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def delivery(i: int, now: datetime) -> Delivery:
    person = f"p{i:05d}"
    did = str(uuid.uuid4())
    return Delivery(
        id=did, org_id=ORG, person_id=person, channel="email", kind="match_proposed", cause_event_id=str(uuid.uuid4()),
        correlation_id=None, created_at=now, next_attempt_at=now, version=1,
        content={"to": f"{person}@example.com", "subject": "New mentoring match proposed", "text": "Hello " * 200,
                 "html": "<p>" + "Hello " * 200 + "</p>", "calendar": None, "calendar_method": None,
                 "message_id": f"<{did}@reciprocal.local>"},
    )


async def measure(mongo_url: str, smtp_port: int, n: int, concurrency: int | None, timeout_s: float) -> dict[str, Any]:
    seed = Store(mongo_url, "reciprocal_notifier")
    repo = NotifierRepository(seed.db)
    await repo.ensure_indexes()
    await seed.ensure_plumbing_indexes()
    now = datetime.now(UTC)
    await seed.db["contacts"].insert_many(
        [Contact(f"p{i:05d}", ORG, f"Person {i}", f"p{i:05d}@example.com").to_doc() for i in range(n)]
    )
    await seed.db["deliveries"].insert_many([delivery_doc(delivery(i, now)) for i in range(n)])

    commands = Commands()
    store = Store(mongo_url, "reciprocal_notifier", event_listeners=[commands])
    extra = {} if concurrency is None else {"delivery_concurrency": concurrency}
    settings = NotifierSettings(smtp_port=smtp_port, **extra)
    deliverer = Deliverer(UnitOfWork(store, "notifier"), NotifierRepository(store.db), settings, "bench")
    wakeup = asyncio.Event()
    wakeup.set()
    started = time.perf_counter()
    loop = asyncio.create_task(deliverer.run(wakeup))
    try:
        while (sent := await seed.db["deliveries"].count_documents({"status": "sent"})) < n:
            if time.perf_counter() - started > timeout_s:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await deliverer.close()
        await store.close()
        await seed.close()
    total = sum(commands.counts.values())
    return {
        "deliveries": n, "sent": sent, "seconds": round(elapsed, 2), "emails_per_s": round(sent / elapsed, 1),
        "concurrency": settings.delivery_concurrency,
        "db_commands_per_delivery": round(total / max(sent, 1), 2),
        "by_command": {k: round(v / max(sent, 1), 2) for k, v in commands.counts.most_common()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="RECIPROCAL_DELIVERY_CONCURRENCY (default: the setting's)")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # no line per email
    work = Path(tempfile.mkdtemp(prefix="delivery-loop-"))
    mongo_port, smtp_port = free_port(), free_port()
    (work / "maildir").mkdir()
    for sub in ("cur", "new", "tmp"):
        (work / "maildir" / sub).mkdir()
    mongo = spawn([secantus_binary(), "--host", "127.0.0.1", "--port", str(mongo_port), "--storage-path", ":memory:",
                   "--log-level", "WARNING"], log=work / "mongo.log")
    smtp = spawn([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
                  "-c", "aiosmtpd.handlers.Mailbox", str(work / "maildir")], log=work / "smtp.log")
    try:
        wait_for_port(mongo_port, mongo, what="secantusd", log=work / "mongo.log")
        wait_for_port(smtp_port, smtp, what="aiosmtpd", log=work / "smtp.log")
        url = f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true"
        result = asyncio.run(measure(url, smtp_port, args.deliveries, args.concurrency, args.timeout))
        result["mails_in_sink"] = len(list((work / "maildir" / "new").iterdir()))
    finally:
        stop([smtp, mongo])
    print(json.dumps(result, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
