"""Right of access: one JSON document with everything every service holds about a person. Each service
serves its own part (`GET /people/{person_id}/export`, the person's own token or an admin's), so nothing
reads another service's database."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from reciprocal.embedded import SERVICES


class ExportFailed(RuntimeError):
    """A service did not give its part: the export is incomplete, so none is returned."""


async def export_person(services: dict[str, str], token: str, org_id: str, person_id: str,
                        timeout_s: float = 30.0) -> dict[str, Any]:
    missing = [name for name in SERVICES if name not in services]
    if missing:
        raise ExportFailed(f"no address for {', '.join(missing)}")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=timeout_s, headers=headers) as client:

        async def part(name: str) -> Any:
            url = f"{services[name].rstrip('/')}/people/{quote(person_id, safe='')}/export"
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                raise ExportFailed(f"{name}: {type(exc).__name__}") from None
            if response.status_code != 200:
                raise ExportFailed(f"{name} answered {response.status_code}: {response.text[:300]}")
            return response.json()

        parts = await asyncio.gather(*(part(name) for name in SERVICES))
    return {"org_id": org_id, "person_id": person_id, "exported_at": datetime.now(UTC).isoformat(),
            "services": dict(zip(SERVICES, parts, strict=True))}
