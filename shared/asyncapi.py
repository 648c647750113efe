"""AsyncAPI documents, read from the services' declarations: what each consumes (its handler table) and
publishes. No broker connection or database client is made."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from shared.contract import Event
from shared.messaging import consumer_options
from shared.settings import ServiceSettings

if TYPE_CHECKING:
    from shared.runtime import ServiceSpec


def contract_broker(spec: "ServiceSpec", settings: ServiceSettings) -> KafkaBroker:
    """A broker that is never started: it only describes what the service consumes and publishes. It
    needs the handler table, not the handlers' dependencies, so no database client is made."""
    broker = KafkaBroker(settings.kafka_bootstrap, description=spec.description)
    for model in spec.handlers:
        broker.subscriber(model.topic(), **consumer_options(settings), title=f"{spec.name}:{model.topic()}")(
            _typed(model)
        )
    for model in spec.publishes:
        broker.publisher(model.topic(), schema=model, title=f"{spec.name}:publishes:{model.topic()}")
    return broker


def _typed(model: type[Event]) -> Callable[..., Awaitable[None]]:
    async def handle(event: Any) -> None: ...

    handle.__annotations__ = {"event": model, "return": None}
    return handle


def asyncapi_document(*brokers: KafkaBroker, title: str, description: str) -> Any:
    return AsyncAPI(*brokers, title=title, description=description, version="1.0.0").to_specification()


def write_asyncapi(out: Path, specs: "list[ServiceSpec]") -> None:
    """One document for the platform: every service's subscribers and publishers on one broker."""
    brokers = [contract_broker(spec, spec.settings_cls(service=spec.name)) for spec in specs]
    document = asyncapi_document(*brokers, title="Reciprocal", description="The Reciprocal event contract.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document.to_json())
