"""`reciprocal`: run a service, the embedded stack and demo, and the contract tools."""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from reciprocal.embedded import SERVICES, EmbeddedStack
from reciprocal.tokens import DevSigningKey, demo_tokens

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

T = TypeVar("T")

STATE = Annotated[Path, typer.Option("--state-file", help="Where `up` writes, and `down` reads, the stack's state.")]
CLOCK_SPEED = Annotated[float, typer.Option(
    "--clock-speed", min=0.001, help="Run every service's clock this many times faster than real time, from the "
    "stack's start (3600: an hour a second). Embedded mode only; production always runs at 1.")]


def _spec(name: str):
    from importlib import import_module

    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    return import_module(f"services.{name}.app").SPEC


@app.command()
def service(name: Annotated[str, typer.Argument(help="profiles, matcher, scheduler or notifier")]) -> None:
    """Run one service in this process, configured from RECIPROCAL_* environment variables."""
    from shared.clock import ClockRefused
    from shared.runtime import run

    try:
        run(_spec(name))
    except ClockRefused as exc:
        typer.echo(f"reciprocal service {name}: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def console() -> None:
    """Run the web console (admin pages and "my mentoring") in this process, configured from RECIPROCAL_*."""
    from services.console.app import run

    run()


@app.command()
def up(state_file: STATE = Path("reciprocal-state.json"), clock_speed: CLOCK_SPEED = 1.0,
       with_console: Annotated[bool, typer.Option("--console/--no-console", help="Also start the web console.")] = True,
       ) -> None:
    """Start the embedded stack (broker, database, SMTP sink, the services, the web console) and keep it running."""
    stack = EmbeddedStack(clock_speed=clock_speed)
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start(console=with_console)
        stack.write_state(state_file, up_pid=os.getpid(), tokens=demo_tokens(stack.signing_key()))
        typer.echo(json.dumps(stack.state(), indent=2))
        if with_console:
            typer.echo(f"Console: {stack.service_url('console')}/signin (development sign-in: any org, role and "
                       "person; the demo org is shown in the state file's tokens.org_id)")
        typer.echo(
            f"Stack is up; state in {state_file}. Stop with `reciprocal down --state-file {state_file}` or Ctrl-C.")
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
def demo(clock_speed: CLOCK_SPEED = 1.0, serve: Annotated[bool, typer.Option(
        "--serve", help="Also start the web console and leave the stack running after the summary (Ctrl-C stops it); "
        "prints the console's address and a development sign-in.")] = False) -> None:
    """Bring the stack up, run a realistic cohort from profiles to emails, print what happened, stop."""
    from reciprocal.demo import run_demo

    sys.exit(run_demo(clock_speed=clock_speed, serve=serve) if serve else run_demo(clock_speed=clock_speed))


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
    from shared.asyncapi import write_asyncapi

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


# Operator tools ---------------------------------------------------------------------------------------

BOOTSTRAP = Annotated[str | None, typer.Option(
    "--bootstrap", envvar="RECIPROCAL_KAFKA_BOOTSTRAP", show_default=False,
    help="Kafka bootstrap HOST:PORT (default: kafka_bootstrap from --state-file).")]
CONNECT_STATE = Annotated[Path, typer.Option(
    "--state-file", help="The state file `reciprocal up` writes; used when --bootstrap is not given.")]
IDLE_MS = Annotated[int, typer.Option(
    "--idle-ms", help="Stop reading once no record has arrived for this long (Tansu's end offsets are wrong).")]

dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and replay dead letters (`<topic>.dlq`).")
app.add_typer(dlq_app, name="dlq")


@app.command()
def token(
    org: Annotated[str, typer.Option("--org", help="The tenant (`org_id` claim).")],
    role: Annotated[str, typer.Option("--role", help="admin or participant")],
    person: Annotated[
        str | None, typer.Option("--person", help="The person id (`sub`); required for a participant.")
    ] = None,
    ttl: Annotated[str, typer.Option("--ttl", help="Lifetime: seconds, HH:MM:SS or ISO 8601 (PT8H).")] = "3600",
    state_file: CONNECT_STATE = Path("reciprocal-state.json"),
) -> None:
    """Mint a development bearer token with the key of a stack started by `reciprocal up`."""
    from datetime import timedelta

    from pydantic import TypeAdapter, ValidationError

    if not state_file.exists():
        raise typer.BadParameter(f"no state file at {state_file}: start the stack with `reciprocal up`")
    auth = json.loads(state_file.read_text())["auth"]
    try:
        lifetime = timedelta(seconds=int(ttl)) if ttl.isdigit() else TypeAdapter(timedelta).validate_strings(ttl)
    except ValidationError:
        raise typer.BadParameter(f"--ttl {ttl!r}: give seconds, HH:MM:SS or an ISO 8601 duration") from None
    key = DevSigningKey(Path(auth["signing_key"]), auth["issuer"], auth["audience"])
    try:
        typer.echo(key.mint(org, role, person, lifetime))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def export(
    org: Annotated[str, typer.Option("--org", help="The tenant.")],
    person: Annotated[str, typer.Option("--person", help="The person id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="RECIPROCAL_TOKEN", help="Bearer token: the person's or an admin's.")
    ] = None,
    service_url: Annotated[
        list[str] | None, typer.Option("--service", help="NAME=URL of a service (repeat); default: the state file's.")
    ] = None,
    state_file: CONNECT_STATE = Path("reciprocal-state.json"),
) -> None:
    """Everything every service holds about one person, as one JSON document (right of access)."""
    from datetime import timedelta

    from reciprocal.export import ExportFailed, export_person

    urls: dict[str, str] = {}
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    urls.update(state.get("services", {}))
    for entry in service_url or []:
        name, _, url = entry.partition("=")
        if not url:
            raise typer.BadParameter(f"--service {entry!r}: give NAME=URL")
        urls[name] = url
    if token is None:
        if "auth" not in state:
            raise typer.BadParameter("give --token (or RECIPROCAL_TOKEN), or a --state-file of `reciprocal up`")
        auth = state["auth"]
        key = DevSigningKey(Path(auth["signing_key"]), auth["issuer"], auth["audience"])
        token = key.mint(org, "admin", None, timedelta(minutes=5))
    try:
        document = _run(export_person(urls, token, org, person))
    except ExportFailed as exc:
        typer.echo(f"export failed: {exc}", err=True)
        raise typer.Exit(1) from None
    text = json.dumps(document, indent=2, default=str)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)


def _bootstrap(bootstrap: str | None, state_file: Path) -> str:
    if bootstrap:
        return bootstrap
    if not state_file.exists():
        raise typer.BadParameter(f"give --bootstrap HOST:PORT, or a --state-file (no file at {state_file})")
    return json.loads(state_file.read_text())["kafka_bootstrap"]


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """An operator tool's refusal (unknown topic, unreadable file) is a message and exit code 2, not a trace."""
    from reciprocal.operations import OperationError

    try:
        yield
    except OperationError as exc:
        typer.echo(f"reciprocal: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(coro: Coroutine[Any, Any, T]) -> T:
    with _refusals():
        return asyncio.run(coro)


@app.command()
def publish(
    topic: Annotated[str, typer.Argument(help="A topic of the contract, e.g. profiles.submitted")],
    file: Annotated[Path, typer.Argument(help="JSON Lines, one event per line ('-' for stdin)")],
    bootstrap: BOOTSTRAP = None,
    state_file: CONNECT_STATE = Path("reciprocal-state.json"),
) -> None:
    """Publish each JSON line as an event of TOPIC, checked against the contract; bad lines are not published.

    The key is the topic's key field; event_id, event_type and occurred_at are stamped where missing.
    Bad lines are reported by number and the exit code is 1.
    """
    from reciprocal.operations import publish_file

    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    outcome = _run(publish_file(_bootstrap(bootstrap, state_file), topic, text.splitlines()))
    for bad in outcome.bad:
        typer.echo(f"{file}:{bad.number}: not published: {bad.error}", err=True)
    typer.echo(f"published {len(outcome.published)} to {topic}; {len(outcome.bad)} bad lines")
    if outcome.bad:
        raise typer.Exit(1)


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="Any topic, dead-letter topics included")],
    from_beginning: Annotated[bool, typer.Option("--from-beginning", help="Start at offset 0, not the end.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Stop after this many records.")] = None,
    idle_ms: Annotated[int | None, typer.Option(
        "--idle-ms", help="Stop once nothing has arrived for this long (default: follow until Ctrl-C).")] = None,
    bootstrap: BOOTSTRAP = None,
    state_file: CONNECT_STATE = Path("reciprocal-state.json"),
) -> None:
    """Print a topic's events as JSON lines as they arrive."""
    from reciprocal.operations import as_json_line, read_records

    async def follow() -> None:
        async for record in read_records(_bootstrap(bootstrap, state_file), topic, from_beginning=from_beginning,
                                         idle_ms=idle_ms, limit=limit):
            typer.echo(json.dumps(as_json_line(record)))

    try:
        _run(follow())
    except KeyboardInterrupt:
        pass


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[str, typer.Argument(help="TOPIC or TOPIC.dlq")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per dead letter.")] = False,
    idle_ms: IDLE_MS = 1500,
    bootstrap: BOOTSTRAP = None,
    state_file: CONNECT_STATE = Path("reciprocal-state.json"),
) -> None:
    """Show every dead letter of a topic with why it was dead-lettered."""
    from reciprocal.operations import dlq_of, list_dead_letters

    letters = _run(list_dead_letters(_bootstrap(bootstrap, state_file), topic, idle_ms=idle_ms))
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter.summary()))
        return
    with _refusals():
        typer.echo(f"{len(letters)} dead letters in {dlq_of(topic)}")
    for d in letters:
        typer.echo(
            f"\n{d.position}  key={d.key}  event_id={d.event_id}{' (from its position)' * d.event_id_from_position}\n"
            f"  {d.error_type}: {d.error_message}\n"
            f"  group={d.consumer_group}  attempts={d.attempts}  "
            f"from {d.original_topic}:{d.original_partition}:{d.original_offset}"
        )


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="TOPIC or TOPIC.dlq")],
    ids: Annotated[list[str] | None, typer.Option(
        "--id", help="An event_id (or PARTITION:OFFSET in the .dlq) to replay; repeatable.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Replay every dead letter of the topic.")] = False,
    fixed: Annotated[Path | None, typer.Option(
        "--fixed", help="JSON Lines of corrected events; a line replaces the dead letter with its event_id.")] = None,
    idle_ms: IDLE_MS = 1500,
    bootstrap: BOOTSTRAP = None,
    state_file: CONNECT_STATE = Path("reciprocal-state.json"),
) -> None:
    """Republish dead letters to their original topic, marked as a replay. Each takes effect once: consumers
    de-duplicate on event_id, so replaying again is harmless. Values that still fail the contract are skipped."""
    from reciprocal.operations import read_fixed, replay_dead_letters

    if not ids and not everything:
        raise typer.BadParameter("name dead letters with --id, or pass --all")
    with _refusals():
        corrections = read_fixed(fixed) if fixed else None
    outcome = _run(replay_dead_letters(_bootstrap(bootstrap, state_file), topic, ids or (), everything=everything,
                                       fixed=corrections, idle_ms=idle_ms))
    for letter in outcome.replayed:
        typer.echo(f"replayed {letter.position} event_id={letter.event_id} to {letter.original_topic}")
    for letter, error in outcome.still_invalid:
        typer.echo(f"not replayed {letter.position} event_id={letter.event_id}: still invalid: {error}", err=True)
    for missing in outcome.not_found:
        typer.echo(f"not found: {missing}", err=True)
    typer.echo(f"{len(outcome.replayed)} replayed")
    if outcome.still_invalid or outcome.not_found:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
