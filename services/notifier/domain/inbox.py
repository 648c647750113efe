"""The inbox paging cursor: the last entry's (created_at, entry_id), so entries with equal times are never skipped."""

import base64
import json
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError

_DATETIME = TypeAdapter(datetime)


def encode_cursor(created_at: datetime, entry_id: str) -> str:
    """An opaque, URL-safe token for the page after the entry (created_at, entry_id)."""
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), entry_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str | None]:
    """(created_at, entry_id) from a token; a bare timestamp, the older cursor, gives (created_at, None).

    Raises ValueError for anything else.
    """
    try:
        created_at, entry_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(entry_id, str):
            return _aware(datetime.fromisoformat(created_at)), entry_id
    except (ValueError, TypeError):
        pass
    try:
        return _aware(_DATETIME.validate_python(token)), None
    except ValidationError as exc:
        raise ValueError(f"not an inbox cursor: {token!r}") from exc


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
