"""HTTP clients of the owning services. Every call forwards the signed-in person's bearer token, so each
service applies its own access rules (admin role, the person's own data, the token's org)."""

import asyncio
from typing import Any

import httpx


class ServiceRefused(Exception):
    """An owning service answered with an error: its status is passed on (403, 404, 409, ...)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class Services:
    def __init__(self, urls: dict[str, str], timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, token: str, service: str, method: str, path: str, *, missing: Any = ...,
                   **params: Any) -> Any:
        """The JSON answer; `missing` is returned for a 404 instead of raising."""
        try:
            answer = await self.http.request(method, self.urls[service] + path,
                                             headers={"Authorization": f"Bearer {token}"}, params=params or None)
        except httpx.HTTPError as exc:
            raise ServiceRefused(503, f"the {service} service cannot be reached ({type(exc).__name__})") from None
        if answer.status_code == 404 and missing is not ...:
            return missing
        if answer.status_code >= 400:
            try:
                detail = str(answer.json().get("detail", answer.text))
            except ValueError:
                detail = answer.text
            raise ServiceRefused(answer.status_code, detail)
        return answer.json()

    async def get(self, token: str, service: str, path: str, **kw: Any) -> Any:
        return await self.call(token, service, "GET", path, **kw)

    async def post(self, token: str, service: str, path: str, **kw: Any) -> Any:
        return await self.call(token, service, "POST", path, **kw)

    async def gather(self, token: str, **reads: tuple[Any, ...]) -> dict[str, Any]:
        """Several GETs at once, by name: name=(service, path), (service, path, answer-if-404) or
        (service, path, answer-if-404, query parameters); `...` as the answer-if-404 raises as usual."""

        async def one(spec: tuple[Any, ...]) -> Any:
            service, path, missing, params = (*spec, ..., {})[:4] if len(spec) == 2 else (*spec, {})[:4]
            return await self.get(token, service, path, missing=missing, **params)

        names = list(reads)
        answers = await asyncio.gather(*(one(reads[n]) for n in names))
        return dict(zip(names, answers, strict=True))
