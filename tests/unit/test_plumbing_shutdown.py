"""A graceful stop is bounded: a service whose stop hangs past RECIPROCAL_SHUTDOWN_GRACE_S ends anyway."""

import subprocess
import sys
import time

from shared.runtime import STOP_TIMED_OUT
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
