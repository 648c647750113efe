"""Where outgoing requests may go: the one rule for webhook addresses (server-side request forgery).

A webhook goes only to an https URL whose host resolves to public addresses. Loopback, private,
link-local (cloud metadata at 169.254.169.254 included), shared, multicast and reserved addresses are
refused, and so are names that only mean something inside (`localhost`, `*.internal`, `*.local`).
`allowed_hosts` admits named internal hosts (over http too); the embedded mode admits loopback, so
the tests can run a local receiver. Redirects are never followed (the sender treats a 3xx as a
failure), so a public URL cannot bounce the request inside.

The profiles service applies `url_refusal` when it accepts a profile (no I/O: the name is not looked
up then); the notifier applies `resolved_refusal` again before every send, because DNS can change.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"})


@dataclass(frozen=True)
class EgressPolicy:
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    """Host names (lower case) admitted whatever they resolve to, over http or https."""
    allow_loopback: bool = False
    """Admit 127.0.0.0/8 and ::1, over http or https: the embedded mode only."""

    @classmethod
    def of(cls, allowed_hosts: Iterable[str] = (), *, embedded: bool = False) -> "EgressPolicy":
        return cls(frozenset(h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip()), embedded)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_refusal(address: str, policy: EgressPolicy) -> str | None:
    """Why a request may not go to this IP address; None if it may."""
    ip = _address(address)
    if ip is None:
        return f"{address!r} is not an IP address"
    if ip.is_loopback:
        return None if policy.allow_loopback else "it points at this machine (a loopback address)"
    if ip.is_link_local:
        return "it points at a link-local address (such as the cloud metadata service)"
    if not ip.is_global or ip.is_multicast:
        return "it points at a private or reserved address, inside the network"
    return None


def url_refusal(url: str, policy: EgressPolicy) -> str | None:
    """Why a webhook may not go to `url`, judged without looking the name up; None if it may."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https URL"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if host in policy.allowed_hosts:
        return None
    ip = _address(host)
    if ip is not None:
        why = address_refusal(host, policy)
        if why:
            return f"is refused: {why}"
        if parts.scheme != "https" and not ip.is_loopback:
            return "must be an https URL"
        return None
    if host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES) or "." not in host:
        return "is refused: it names a host inside the network"
    if parts.scheme != "https":
        return "must be an https URL"
    return None


async def resolved_refusal(url: str, policy: EgressPolicy, timeout_s: float = 5.0) -> str | None:
    """`url_refusal`, then every address the host resolves to must be allowed too (checked at send time)."""
    if why := url_refusal(url, policy):
        return why
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if host in policy.allowed_hosts or _address(host) is not None:
        return None
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM), timeout=timeout_s
        )
    except (OSError, TimeoutError):
        return "is refused: its host name does not resolve"
    for info in infos:
        why = address_refusal(str(info[4][0]), policy)
        if why:
            return f"is refused: {why}"
    return None
