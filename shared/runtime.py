"""The one shape every service runs in: FastStream consumers, the outbox relay, background jobs
and an HTTP app with /healthz, /readyz, /metrics and the service's AsyncAPI docs."""

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.specification import get_asyncapi_html
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.asyncapi import asyncapi_document, contract_broker
from shared.auth import TokenVerifier, auth_settings
from shared.bootstrap import bind, bind_handlers
from shared.clock import Clock, configured_clock, use_service_clock
from shared.contract import Event
from shared.logging import configure_logging
from shared.messaging import Ingress, event_router, make_broker, publish_many
from shared.metrics import PlumbingMetrics, plumbing_metrics
from shared.outbox import HAND_OVER_S, RELAY_STOP_S, OutboxRelay
from shared.settings import ServiceSettings
from shared.store import DeadLetterLog, Store, UnitOfWork

log = structlog.get_logger()


@dataclass
class Context:
    """Everything a service's composition root wires together."""

    settings: ServiceSettings
    store: Store
    broker: KafkaBroker
    relay: OutboxRelay
    uow: UnitOfWork
    registry: CollectorRegistry
    metrics: PlumbingMetrics
    clock: Clock = field(default_factory=Clock)


@dataclass
class ServiceSpec:
    """A service, declared. `bootstrap` builds the service's dependencies (a dataclass) once from the
    plumbing; every other function here takes its parameters from them by name (see shared.bootstrap)."""

    name: str
    description: str
    settings_cls: type[ServiceSettings]
    bootstrap: Callable[[Context], object]
    handlers: Mapping[type[Event], Callable[..., Awaitable[None]]]
    """The handler table: the event (or, for a list parameter, a batch of them) comes first."""
    publishes: tuple[type[Event], ...]
    http: Callable[..., APIRouter] | None = None
    setup: Callable[..., Awaitable[None]] | None = None
    teardown: Callable[..., Awaitable[None]] | None = None
    jobs: list[Callable[..., Coroutine[Any, Any, None]]] = field(default_factory=list)
    readiness: dict[str, Callable[..., Awaitable[bool]]] = field(default_factory=dict)
    """Service-specific checks that /readyz adds to its broker, database and outbox probes, by name:
    each returns False when the service's own loop is stuck (for example, a backlog too old)."""


ReadinessCheck = Callable[[Context], Awaitable[bool]]


async def outbox_caught_up(ctx: Context) -> bool:
    """Red while the oldest unpublished outbox row is older than RECIPROCAL_OUTBOX_LAG_READY_S."""
    age, _ = await ctx.relay.lag()
    return age <= ctx.settings.outbox_lag_ready_s


BUILT_IN_READINESS: dict[str, ReadinessCheck] = {"outbox": outbox_caught_up}


def build_context(spec: ServiceSpec, settings: ServiceSettings) -> tuple[Context, object]:
    """The plumbing, and the service's dependencies built on it, with the handler table bound."""
    clock = configured_clock(settings.clock_speed, settings.clock_epoch, embedded=settings.embedded)
    use_service_clock(clock)
    registry = CollectorRegistry()
    metrics = plumbing_metrics(registry)
    store = Store(settings.mongo_url, settings.database)
    ingress = Ingress(settings, DeadLetterLog(store), metrics)
    broker = make_broker(settings, ingress, (KafkaPrometheusMiddleware(registry=registry, app_name=spec.name),))
    relay = OutboxRelay(
        store, lambda docs: publish_many(broker, docs, settings.max_message_bytes),
        owner=settings.instance_id, poll_s=settings.outbox_poll_s, lease_s=settings.outbox_lease_s,
        backoff_max_s=settings.outbox_backoff_max_s, metrics=metrics,
    )
    # The ledger is keyed by service, not by consumer group: a replay under another group is a no-op.
    uow = UnitOfWork(
        store, f"reciprocal-{settings.service}", on_commit=relay.kick,
        on_db_time=lambda topic, seconds: metrics.db_seconds.labels(topic).observe(seconds),
    )
    ctx = Context(settings, store, broker, relay, uow, registry, metrics, clock)
    dependencies = spec.bootstrap(ctx)
    broker.include_router(event_router(settings, bind_handlers(spec.handlers, dependencies), ingress, metrics))
    return ctx, dependencies


def tracer_provider(service: str) -> Any | None:
    """An OpenTelemetry SDK provider exporting over OTLP/HTTP, only when OTEL_EXPORTER_OTLP_ENDPOINT is set
    (the exporter reads it and the other OTEL_* variables itself). Without one, trace context is still
    propagated through Kafka headers; no spans are recorded."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("tracing.exporter_not_installed", hint="install the otlp extra: pip install 'reciprocal[otlp]'")
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"reciprocal-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or spec.settings_cls(service=spec.name)
    configure_logging(spec.name, settings.log_level)
    provider = tracer_provider(spec.name)
    if provider is not None:
        trace.set_tracer_provider(provider)
    ctx, dependencies = build_context(spec, settings)
    jobs: list[asyncio.Task[None]] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ctx.store.ensure_plumbing_indexes(ctx.settings.retention)
        if await ctx.uow.detect_legacy_ledger():
            log.info("ledger.legacy_entries_found")  # redeliveries of pre-upgrade events are still skipped
        if spec.setup:
            await bind(spec.setup, dependencies)()
        await ctx.broker.start()
        await ctx.relay.start()
        jobs.extend(asyncio.create_task(bind(job, dependencies)(), name=job.__name__) for job in spec.jobs)
        log.info("service.started", group_id=settings.group_id, database=settings.database)
        try:
            yield
        finally:
            watchdog = exit_if_still_stopping(settings.shutdown_grace_s)
            for task in jobs:
                task.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            teardown = bind(spec.teardown, dependencies) if spec.teardown else None
            try:
                await stop_in_order([
                    # no new commits: the relay's last pass publishes them all
                    *((f"consumer {i}", s.stop) for i, s in enumerate(ctx.broker.subscribers)),
                    ("outbox relay", ctx.relay.stop),
                    ("broker", ctx.broker.stop),
                    *((("teardown", teardown),) if teardown else ()),
                    ("database", ctx.store.close),
                    *((("traces", _async(provider.shutdown)),) if provider is not None else ()),  # the spans queued
                ], longer={"outbox relay": RELAY_STOP_S + HAND_OVER_S + 1})
            finally:
                watchdog.cancel()
            log.info("service.stopped")

    app = FastAPI(title=f"Reciprocal {spec.name}", description=spec.description, lifespan=lifespan)
    app.state.ctx = ctx
    app.state.dependencies = dependencies
    docs = asyncapi_document(
        contract_broker(spec, settings),
        title=f"Reciprocal {spec.name}",
        description=spec.description,
    )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    service_checks = {name: bind(check, dependencies) for name, check in spec.readiness.items()}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        checks = {"broker": await _check(ctx.broker.ping(timeout=2)), "database": await _check(ctx.store.ping())}
        for name, check in BUILT_IN_READINESS.items():
            checks[name] = await _check(check(ctx))
        for name, bound in service_checks.items():
            checks[name] = await _check(bound())
        ready = all(checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ctx.relay.lag(), 3)  # the lag gauges are read from the database when scraped
        return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["docs"])
    async def asyncapi_json() -> Response:
        return Response(docs.to_json(), media_type="application/json")

    @app.get("/asyncapi", tags=["docs"], response_class=HTMLResponse)
    async def asyncapi_html() -> str:
        return get_asyncapi_html(docs)

    if spec.http:
        app.state.token_verifier = TokenVerifier(auth_settings())  # refuses to start without a key to verify with
        app.include_router(bind(spec.http, dependencies)())
    return app


STOP_STEP_S = 5.0
"""How long one step of a stop may take (the relay's has its own bound), so that one stuck step (PyMongo's
close, waiting for a server that is gone) leaves time for the others."""


async def stop_in_order(steps: list[tuple[str, Callable[[], Awaitable[Any]]]], step_s: float = STOP_STEP_S,
                        longer: Mapping[str, float] | None = None) -> list[tuple[str, str]]:
    """Run every step of a stop, in order, each for at most `step_s` (or its time in `longer`), whatever
    the earlier ones raised (a consumer whose broker is gone fails to stop, and the relay must still hand
    its lease over); each failure is logged. A CancelledError that a step lets out of its own tasks
    (aiokafka's fetcher, closing while it backs off from a broker that is gone) is such a failure too,
    unless this stop itself is being cancelled. Returns (step, error type) of each step that failed."""
    failed = []
    for name, step in steps:
        try:
            await asyncio.wait_for(step(), (longer or {}).get(name, step_s))
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            failed.append((name, type(exc).__name__))
            log.warning("service.stop_step_failed", step=name, error_type=type(exc).__name__)
        except Exception as exc:
            failed.append((name, type(exc).__name__))
            log.warning("service.stop_step_failed", step=name, error_type=type(exc).__name__, error=str(exc)[:300])
    return failed


def _async(call: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        call()

    return run


STOP_TIMED_OUT = 70
"""The exit status of a process whose graceful stop took longer than its grace (EX_SOFTWARE)."""


def exit_if_still_stopping(grace_s: float) -> threading.Timer:
    """End the process unless cancelled within `grace_s`. A thread, so that a stop stuck in the event
    loop, or in a step that blocks it, cannot keep the process alive: a service asked to stop always
    stops, and one whose parent died never lingers."""

    def give_up() -> None:
        log.error("service.stop_timed_out", grace_s=grace_s)
        os._exit(STOP_TIMED_OUT)

    timer = threading.Timer(grace_s, give_up)
    timer.daemon = True
    timer.start()
    return timer


async def _check(probe: Awaitable[Any]) -> bool:
    try:
        return bool(await asyncio.wait_for(probe, 3))
    except Exception:
        return False


def run(spec: ServiceSpec) -> None:
    settings = spec.settings_cls(service=spec.name)
    app = create_app(spec, settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)
    )
    asyncio.run(server.serve())
