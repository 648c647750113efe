"""Structured JSON logs that carry correlation ids and never personal fields.

Library loggers (httpx, uvicorn, ...) go through the same redaction as our own, so a webhook URL or
an email address in a third-party message is scrubbed too.
"""

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

PERSONAL_KEYS = frozenset({"email", "display_name", "name", "manager_id", "webhook_url", "password", "to", "body"})
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL_PATH = re.compile(r"(https?://[^/\s?#]+)[/?#]\S*")  # paths and queries can carry tokens and addresses


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return EMAIL.sub("[email]", URL_PATH.sub(r"\1/[redacted]", value))
    if isinstance(value, Mapping):
        return {k: "[redacted]" if k in PERSONAL_KEYS else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        event[key] = "[redacted]" if key in PERSONAL_KEYS else scrub(event[key])
    return event


def configure_logging(service: str, level: str = "INFO") -> None:
    stamped: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendered: list[Any] = [structlog.processors.format_exc_info, redact, structlog.processors.JSONRenderer()]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *stamped],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendered],
        )
    )
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    for noisy in ("pymongo", "uvicorn.access", "faststream", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    structlog.configure(
        processors=[*stamped, *rendered],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


log = structlog.get_logger
