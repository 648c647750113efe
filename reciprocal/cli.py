"""`reciprocal`: run a service, the embedded stack and demo, and the contract tools."""

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from reciprocal.embedded import SERVICES, EmbeddedStack

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

STATE = Annotated[Path, typer.Option("--state-file", help="Where `up` writes, and `down` reads, the stack's state.")]


def _spec(name: str):  # noqa: ANN202
    from importlib import import_module

    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    return import_module(f"services.{name}.app").SPEC


@app.command()
def service(name: Annotated[str, typer.Argument(help="profiles, matcher, scheduler or notifier")]) -> None:
    """Run one service in this process, configured from RECIPROCAL_* environment variables."""
    from shared.runtime import run

    run(_spec(name))


@app.command()
def up(state_file: STATE = Path("reciprocal-state.json")) -> None:
    """Start the embedded stack (broker, database, SMTP sink, four services) and keep it running."""
    stack = EmbeddedStack()
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start()
        stack.write_state(state_file, up_pid=os.getpid())
        typer.echo(json.dumps(stack.state(), indent=2))
        typer.echo(f"Stack is up; state in {state_file}. Stop with `reciprocal down --state-file {state_file}` or Ctrl-C.")
        while not stopping:
            time.sleep(0.2)
    finally:
        stack.stop()
        state_file.unlink(missing_ok=True)
        typer.echo("Stack stopped.")


@app.command()
def down(state_file: STATE = Path("reciprocal-state.json"), timeout: float = 30.0) -> None:
    """Stop everything that `up` started."""
    if not state_file.exists():
        typer.echo(f"No state file at {state_file}: nothing to stop.")
        return
    state = json.loads(state_file.read_text())
    pids = [state["up_pid"], *state.get("pids", {}).values()]
    _signal(state["up_pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    state_file.unlink(missing_ok=True)
    typer.echo("Stack stopped.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@app.command()
def demo() -> None:
    """Bring the stack up, run a realistic cohort from profiles to emails, print what happened, stop."""
    from reciprocal.demo import run_demo

    sys.exit(run_demo())


@app.command()
def topics(
    bootstrap: Annotated[str, typer.Option(envvar="RECIPROCAL_KAFKA_BOOTSTRAP")] = "127.0.0.1:9092",
    partitions: Annotated[int, typer.Option(envvar="RECIPROCAL_PARTITIONS")] = 3,
) -> None:
    """Create every topic (and its dead-letter topic) explicitly."""
    from shared.messaging import create_topics

    created = asyncio.run(create_topics(bootstrap, partitions))
    typer.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))


@app.command()
def schemas(out: Annotated[Path, typer.Option("--out", help="Directory for one JSON Schema per event")]) -> None:
    """Write the JSON Schema of every event, generated from the pydantic contract."""
    from shared.contract.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(str(path))


@app.command()
def asyncapi(out: Annotated[Path, typer.Option("--out", help="File for the platform's AsyncAPI document")]) -> None:
    """Write the AsyncAPI document of all four services, generated from the same models."""
    from shared.contract.schemas import write_asyncapi

    write_asyncapi(out, [_spec(name) for name in SERVICES])
    typer.echo(str(out))


@app.command()
def match(
    file: Annotated[Path, typer.Argument(help="JSON Lines: profiles, optionally a programs.configured line.")],
    graph: Annotated[bool, typer.Option("--graph", help="Also print every candidate edge and weight.")] = False,
    stability: Annotated[bool, typer.Option("--stability", help="Also print the blocking pairs.")] = False,
    exact: Annotated[bool | None, typer.Option(
        "--exact/--fast", show_default=False,
        help="Exact blossom, or fast LP rounding with a bound. Default: exact up to 2,000 people.")] = None,
    program_id: Annotated[str | None, typer.Option(
        "--program-id", help="Default: the configured program, else the file's most common one.")] = None,
    cross_department: Annotated[str | None, typer.Option(
        "--cross-department", help="required, preferred or any (default: the program's, else preferred).")] = None,
    session_minutes: Annotated[int | None, typer.Option(
        "--session-minutes", help="Default: the program's, else 60.")] = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="ISO date-time the program starts at when it has no starts_on (default: now).")] = None,
) -> None:
    """Whole-cohort optimisation offline: print the pairs, scores, objective and coverage as JSON."""
    from reciprocal.offline_match import MatchInputError, run_match

    try:
        doc = run_match(file, graph=graph, stability=stability, exact=exact, program_id=program_id,
                        cross_department=cross_department, session_minutes=session_minutes, now=now)
    except MatchInputError as exc:
        typer.echo(f"reciprocal match: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(doc, indent=2))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
