"""Child processes that never outlive their parent (PR_SET_PDEATHSIG on Linux), and waiting for them to come up."""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_fixed

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            preexec_fn=_die_with_parent,
        )


class StartupError(RuntimeError):
    """Something the stack starts did not come up: says what, and where its log is."""


class NotUpYet(Exception):
    """Raised by a start-up probe that should be tried again."""


def log_tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log written)"


def exited(what: str, proc: subprocess.Popen[bytes], log: Path) -> StartupError:
    return StartupError(f"{what} exited with code {proc.returncode} while starting; its log is {log}:\n{log_tail(log)}")


def retry_until_up(probe: Callable[[], None], *, what: str, timeout: float, interval: float = 0.05,
                   logs: Sequence[Path] = ()) -> None:
    """Call `probe` until it stops raising NotUpYet, for at most `timeout` seconds and a bounded number of tries.

    A StartupError from the probe (say, the process exited) ends the wait at once. On giving up,
    the error names what did not come up, why it was last not ready, and where its logs are.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout) | stop_after_attempt(int(timeout / interval) + 1),
        wait=wait_fixed(interval),
        retry=retry_if_exception_type(NotUpYet),
    )
    try:
        retrying(probe)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        where = f"; see {', '.join(str(log) for log in logs)}" if logs else ""
        raise StartupError(f"{what} did not come up within {timeout:g}s ({last}){where}") from None


def wait_for_port(port: int, proc: subprocess.Popen[bytes], *, what: str, log: Path, timeout: float = 30.0) -> None:
    """Wait until `proc` accepts TCP connections on 127.0.0.1:`port`."""

    def probe() -> None:
        if proc.poll() is not None:
            raise exited(what, proc, log)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError as exc:
            raise NotUpYet(f"nothing listening on 127.0.0.1:{port}") from exc

    retry_until_up(probe, what=what, logs=[log], timeout=timeout)


def stop(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
