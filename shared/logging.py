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
SECRET_KEYS = frozenset({"authorization", "token", "access_token", "id_token", "refresh_token", "cookie"})
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
BEARER = re.compile(r"\b(Bearer)\s+[\w.~+/=-]+", re.IGNORECASE)
JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")  # a JWT wherever it appears: header.payload.signature
URL_PATH = re.compile(r"(https?://[^/\s?#]+)[/?#]\S*")  # paths and queries can carry tokens and addresses


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        value = JWT.sub("[token]", BEARER.sub(r"\1 [token]", value))
        return EMAIL.sub("[email]", URL_PATH.sub(r"\1/[redacted]", value))
    if isinstance(value, Mapping):
        return {k: "[redacted]" if _hidden(k) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        event[key] = "[redacted]" if _hidden(key) else scrub(event[key])
    return event


def _hidden(key: Any) -> bool:
    """Personal fields by their exact name; secrets (an `Authorization` header, any `token`) in any case."""
    return key in PERSONAL_KEYS or (isinstance(key, str) and key.lower() in SECRET_KEYS)


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
