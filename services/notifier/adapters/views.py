"""Read models of the notifier's own data for the admin console: the org's failed deliveries."""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING

from services.notifier.adapters.repository import NotifierRepository
from services.notifier.domain import DeliveryStatus

FIELDS = {"_id": 1, "person_id": 1, "channel": 1, "kind": 1, "cause_event_id": 1, "attempts": 1, "last_error": 1,
          "finished_at": 1, "created_at": 1}


async def failed_deliveries(repo: NotifierRepository, org_id: str, limit: int) -> list[dict[str, Any]]:
    """Newest first; no content (addresses, bodies) is shown, only what failed and why."""
    cursor = repo.deliveries.find({"org_id": org_id, "status": DeliveryStatus.FAILED.value}, FIELDS)
    docs = await cursor.sort("created_at", DESCENDING).to_list(limit)
    return [{("notification_id" if k == "_id" else k): (v.isoformat() if isinstance(v, datetime) else v)
             for k, v in d.items()} for d in docs]
