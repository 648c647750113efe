"""The embedded stack's start-up waits: bounded, quick to fail on a dead process, and saying what and where."""

import sys
import time
from pathlib import Path

import pytest

from reciprocal.processes import NotUpYet, StartupError, free_port, retry_until_up, spawn, stop, wait_for_port


def test_a_process_that_exits_fails_at_once_naming_it_and_its_log(tmp_path: Path):
    log = tmp_path / "logs" / "kafka.log"
    proc = spawn([sys.executable, "-c", "print('bad flag'); raise SystemExit(3)"], log=log)
    started = time.monotonic()
    with pytest.raises(StartupError) as caught:
        wait_for_port(free_port(), proc, what="the kafka server", log=log, timeout=20)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "the kafka server exited with code 3" in message and str(log) in message and "bad flag" in message


def test_a_process_that_never_listens_gives_up_after_the_timeout(tmp_path: Path):
    log = tmp_path / "mongo.log"
    proc = spawn([sys.executable, "-c", "import time; time.sleep(30)"], log=log)
    port = free_port()
    try:
        started = time.monotonic()
        with pytest.raises(StartupError) as caught:
            wait_for_port(port, proc, what="the mongo server", log=log, timeout=0.5)
        assert time.monotonic() - started < 5
    finally:
        stop([proc])
    message = str(caught.value)
    assert "the mongo server did not come up within 0.5s" in message
    assert f"127.0.0.1:{port}" in message and str(log) in message


def test_a_listening_process_is_up(tmp_path: Path):
    port = free_port()
    code = f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(30)"
    proc = spawn([sys.executable, "-c", code], log=tmp_path / "ok.log")
    try:
        wait_for_port(port, proc, what="the listener", log=tmp_path / "ok.log", timeout=10)
    finally:
        stop([proc])


def test_tries_are_bounded_even_when_each_is_instant():
    tries = []

    def probe() -> None:
        tries.append(1)
        raise NotUpYet("not yet")

    with pytest.raises(StartupError, match=r"thing did not come up within 0.3s \(not yet\)"):
        retry_until_up(probe, what="thing", timeout=0.3, interval=0.1)
    assert 2 <= len(tries) <= 4
