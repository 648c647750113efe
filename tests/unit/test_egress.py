"""The webhook egress rule: public https addresses only, unless an allow-list or the embedded mode says otherwise."""

import pytest

from shared.egress import EgressPolicy, address_refusal, resolved_refusal, url_refusal

STRICT = EgressPolicy()
EMBEDDED = EgressPolicy.of(embedded=True)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "https://127.0.0.1/hook", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/", "https://169.254.169.254/", "https://10.0.0.5/", "https://192.168.1.1/",
    "https://172.16.0.1/", "https://100.64.0.1/", "https://0.0.0.0/", "https://[fd00::1]/", "https://[fe80::1]/",
    "https://224.0.0.1/", "https://localhost/hook", "https://metadata.google.internal/", "https://db.internal/",
    "https://printer.local/", "https://intranet/", "http://example.com/hook", "ftp://example.com/",
    "https://user:pw@example.com/", "https:///nohost", "https://example.com:99999/",
])
def test_internal_or_plain_http_addresses_are_refused_with_a_reason(url):
    why = url_refusal(url, STRICT)
    assert why and isinstance(why, str)


@pytest.mark.parametrize("url", ["https://hooks.example.com/x", "https://93.184.215.14/x", "https://[2606:4700::1]/"])
def test_public_https_addresses_pass(url):
    assert url_refusal(url, STRICT) is None


def test_the_embedded_mode_admits_loopback_only():
    assert url_refusal("http://127.0.0.1:4000/hook", EMBEDDED) is None
    assert url_refusal("http://169.254.169.254/", EMBEDDED)
    assert url_refusal("https://10.1.2.3/", EMBEDDED)


def test_allowed_hosts_admit_named_internal_hosts_over_http():
    policy = EgressPolicy.of(["Hooks.Corp.Internal.", " "])
    assert url_refusal("http://hooks.corp.internal:8080/x", policy) is None
    assert url_refusal("http://other.corp.internal/x", policy)


def test_every_resolved_address_must_be_public():
    assert address_refusal("8.8.8.8", STRICT) is None
    assert "link-local" in (address_refusal("169.254.169.254", STRICT) or "")
    assert "loopback" in (address_refusal("127.0.0.1", STRICT) or "")


async def test_a_name_that_resolves_inside_is_refused_at_send_time():
    # `localhost.` with a trailing dot and a dotted name that resolves to loopback are both inside.
    assert await resolved_refusal("https://localhost./x", STRICT)
    assert await resolved_refusal("https://name.that-does-not-exist.invalid/x", STRICT)
    assert await resolved_refusal("http://127.0.0.1:9/x", EMBEDDED) is None


async def test_a_public_looking_name_that_resolves_to_a_private_address_is_refused(monkeypatch):
    import asyncio
    import socket

    async def rebinding(host, port, **_):  # what a rebinding DNS answers for an innocent-looking name
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", rebinding)
    assert url_refusal("https://hooks.example.com/x", STRICT) is None
    assert "private" in (await resolved_refusal("https://hooks.example.com/x", STRICT) or "")
