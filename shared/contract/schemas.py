"""JSON Schema and AsyncAPI documents, generated from the pydantic contract."""

import json
from pathlib import Path
from typing import Any

from shared.contract.topics import TOPICS


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, topic in TOPICS.items():
        schema = topic.model.model_json_schema(mode="validation")
        schema["$id"] = f"https://reciprocal.example/schemas/{name}.json"
        schema["x-kafka-key"] = topic.key_field
        path = out / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2) + "\n")
        written.append(path)
    return written


def write_asyncapi(out: Path, specs: list[Any]) -> None:
    """One document for the platform: every service's subscribers and publishers on one broker."""
    from shared.runtime import asyncapi_document, build_context, contract_broker

    brokers = []
    for spec in specs:
        settings = spec.settings_cls(service=spec.name)
        consumes = list(spec.consumers(build_context(spec, settings)))
        brokers.append(contract_broker(spec, settings, consumes))
    document = asyncapi_document(*brokers, title="Reciprocal", description="The Reciprocal event contract.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document.to_json())
