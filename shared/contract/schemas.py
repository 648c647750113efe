"""JSON Schema documents, generated from the pydantic contract (AsyncAPI: shared.asyncapi)."""

import json
from pathlib import Path

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
