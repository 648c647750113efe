"""`reciprocal demo --serve`: after the summary, keep the stack and its web console running until Ctrl-C."""

import signal
import time
from collections.abc import Sequence

from reciprocal.embedded import CONSOLE, EmbeddedStack


def serve_console(stack: EmbeddedStack, org: str, people: Sequence[str]) -> None:
    print(f"\nThe web console is at {stack.service_url(CONSOLE)}/signin", flush=True)
    print(f"Development sign-in: organisation {org!r}; role 'admin' for the program pages, or role "
          f"'participant' with a person id for 'My mentoring' (e.g. {', '.join(repr(p) for p in people[:3])}).")
    print("The stack keeps running; press Ctrl-C to stop it.", flush=True)
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
