"""The console in a real browser: headless Chromium (Debian's `chromium` package, never a downloaded build)
driven by Playwright, against an embedded stack with the console on an accelerated clock.

Skipped, with the reason, when Chromium, Playwright or axe-core (npm, `make browser-setup`) is missing."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from browser_env import SCREENSHOTS, SPEED, chromium_path, missing

from reciprocal.embedded import EmbeddedStack

T = TypeVar("T")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing()
    if reason:
        skip = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


@pytest.fixture(scope="module")
def console_stack() -> Iterator[tuple[EmbeddedStack, dict]]:
    from console_seed import seed

    stack = EmbeddedStack(clock_speed=SPEED)
    stack.service_defaults = {"RECIPROCAL_TIMER_POLL_S": "0.5", "RECIPROCAL_EXPIRY_POLL_S": "1"}
    # Playwright's sync API keeps an event loop running in this thread, so the stack is started, seeded and
    # stopped from a thread of its own, which lives as long as the stack: its processes die with the thread
    # that started them (PR_SET_PDEATHSIG).
    keeper = ThreadPoolExecutor(1, thread_name_prefix="console-stack")
    ok = False
    try:
        seeded = keeper.submit(lambda: (stack.start(console=True, console_env={
            "RECIPROCAL_CONSOLE_LIVE_POLL_MS": "1000"}), seed(stack))[1]).result()
        yield stack, seeded
        ok = True
    finally:
        keeper.submit(stack.stop, keep_workdir=not ok).result()
        keeper.shutdown()
        if not ok:
            print(f"\nStack logs kept in {stack.workdir / 'logs'}")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
