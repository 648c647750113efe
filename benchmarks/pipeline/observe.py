"""What the benchmark watches: proposal emails arriving in the SMTP sink's Maildir, and the stage events
(`profiles.changed`, `matches.proposed`) on the broker, each with the time it happened.

Completion is decided from the specific person ids seen, never from end offsets (Tansu's are wrong).
"""

import asyncio
import contextlib
import json
import os
import time
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path

from aiokafka import AIOKafkaConsumer

PROPOSAL_SUBJECT = "New mentoring match proposed"


class MailWatch:
    """First proposal email per recipient address, timed by when the sink wrote it (file mtime)."""

    def __init__(self, maildir: Path, addresses: set[str] | None = None, poll_s: float = 0.05) -> None:
        self.maildir, self.addresses, self.poll_s = maildir, addresses, poll_s
        self.arrived: dict[str, float] = {}
        self._seen: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "MailWatch":
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.scan()

    async def _poll(self) -> None:
        while True:
            await asyncio.to_thread(self.scan)
            await asyncio.sleep(self.poll_s)

    def scan(self) -> None:
        parser = BytesHeaderParser()
        for sub in ("new", "cur"):
            folder = self.maildir / sub
            if not folder.exists():
                continue
            for entry in os.scandir(folder):
                if entry.name in self._seen:
                    continue
                self._seen.add(entry.name)
                try:
                    with open(entry.path, "rb") as fh:
                        headers = parser.parse(fh)
                    written = entry.stat().st_mtime
                except OSError:
                    continue
                address = parseaddr(str(headers.get("To", "")))[1].lower()
                if not str(headers.get("Subject", "")).startswith(PROPOSAL_SUBJECT):
                    continue
                if self.addresses is not None and address not in self.addresses:
                    continue
                self.arrived[address] = min(written, self.arrived.get(address, written))


class EventWatch:
    """The first `profiles.changed` per person, the first `matches.proposed` naming each person and each
    `matches.accepted`, for some orgs, timed by the record's create time (set by the service's producer when it
    published)."""

    def __init__(self, bootstrap: str, orgs: set[str]) -> None:
        self.orgs = orgs
        self.consumer = AIOKafkaConsumer(
            "profiles.changed", "matches.proposed", "matches.accepted", bootstrap_servers=bootstrap, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=100,
        )
        self.changed: dict[str, float] = {}
        self.proposed: dict[str, float] = {}
        self.match_of: dict[str, str] = {}  # person id -> the match id of their first proposal
        self.accepted: dict[str, float] = {}  # match id -> when its matches.accepted was published
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> "EventWatch":
        await self.consumer.start()
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    async def _pump(self) -> None:
        async for record in self.consumer:
            try:
                event = json.loads(record.value)
            except ValueError:
                continue
            if event.get("org_id") not in self.orgs:
                continue
            at = record.timestamp / 1000
            if record.topic == "profiles.changed":
                self.changed.setdefault(event["person_id"], at)
            elif record.topic == "matches.accepted":
                self.accepted.setdefault(event["match_id"], at)
            else:
                for pid in (event["person_a"], event["person_b"]):
                    self.proposed.setdefault(pid, at)
                    self.match_of.setdefault(pid, event["match_id"])
            self._arrived.set()

    async def wait_for(self, people: set[str], *, proposals: bool, timeout: float) -> bool:
        """Until every person has a `profiles.changed` (and, with `proposals`, a proposal); False on timeout."""
        deadline = time.monotonic() + timeout
        while not (people <= self.changed.keys() and (not proposals or people <= self.proposed.keys())):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
        return True
