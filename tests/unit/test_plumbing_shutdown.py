"""A graceful stop runs every step whatever an earlier one raised, and is bounded: a stop still under way
after RECIPROCAL_SHUTDOWN_GRACE_S ends the process anyway."""

import asyncio
import subprocess
import sys
import time

import pytest

from shared.runtime import STOP_TIMED_OUT, stop_in_order
from shared.settings import ServiceSettings


def run(code: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


def test_a_stop_still_under_way_after_its_grace_ends_the_process():
    done, took = run("import time\nfrom shared.runtime import exit_if_still_stopping\n"
                     "exit_if_still_stopping(0.5)\ntime.sleep(60)\n")  # a stop that never ends
    assert done.returncode == STOP_TIMED_OUT, done.stderr
    assert took < 30
    assert "service.stop_timed_out" in done.stdout + done.stderr


def test_a_stop_that_ends_in_time_leaves_the_process_alone():
    done, _ = run("import time\nfrom shared.runtime import exit_if_still_stopping\n"
                  "exit_if_still_stopping(0.3).cancel()\ntime.sleep(1.0)\nprint('still here')\n")
    assert done.returncode == 0, done.stderr
    assert "still here" in done.stdout


def test_the_grace_defaults_under_kubernetes_own_and_comes_from_the_environment(monkeypatch):
    assert ServiceSettings(service="profiles").shutdown_grace_s == 20.0
    monkeypatch.setenv("RECIPROCAL_SHUTDOWN_GRACE_S", "3")
    assert ServiceSettings(service="profiles").shutdown_grace_s == 3.0


async def test_every_step_of_a_stop_runs_though_an_earlier_one_failed():
    ran = []

    def step(name: str, fails: bool = False):
        async def run() -> None:
            ran.append(name)
            if fails:
                raise ConnectionError("the broker is gone")
        return run

    failed = await stop_in_order([
        ("consumer 0", step("consumer 0", fails=True)), ("consumer 1", step("consumer 1")),
        ("outbox relay", step("outbox relay")), ("database", step("database", fails=True)), ("traces", step("traces"))])
    assert ran == ["consumer 0", "consumer 1", "outbox relay", "database", "traces"]
    assert failed == [("consumer 0", "ConnectionError"), ("database", "ConnectionError")]


async def test_a_cancelled_error_let_out_by_a_step_does_not_end_the_stop_but_cancelling_the_stop_does():
    ran = []

    async def leaks() -> None:
        ran.append("leaks")
        raise asyncio.CancelledError  # what aiokafka's fetcher lets out of consumer.stop()

    async def after() -> None:
        ran.append("after")

    assert await stop_in_order([("consumer 0", leaks), ("outbox relay", after)]) == [("consumer 0", "CancelledError")]
    assert ran == ["leaks", "after"]

    async def hangs() -> None:
        await asyncio.sleep(60)

    stopping = asyncio.create_task(stop_in_order([("consumer 0", hangs), ("outbox relay", after)]))
    await asyncio.sleep(0.05)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert ran == ["leaks", "after"]  # cancelled: the later steps did not run


async def test_a_step_that_hangs_is_cut_short_and_the_next_steps_still_run():
    ran = []

    async def hangs() -> None:  # a producer waiting for a broker that is gone
        await asyncio.sleep(60)

    async def slow_relay() -> None:
        await asyncio.sleep(0.3)
        ran.append("outbox relay")

    async def close() -> None:
        ran.append("database")

    started = time.monotonic()
    failed = await stop_in_order([("broker", hangs), ("outbox relay", slow_relay), ("database", close)], step_s=0.2,
                                 longer={"outbox relay": 1.0})
    assert ran == ["outbox relay", "database"]  # the relay had longer than the others
    assert time.monotonic() - started < 5
    assert failed == [("broker", "TimeoutError")]
