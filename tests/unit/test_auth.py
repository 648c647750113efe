"""Bearer-token verification with real keys, the access helpers and the JWKS key rotation."""

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, HTTPException

from shared.auth import (
    AuthNotConfigured,
    AuthSettings,
    Principal,
    TokenVerifier,
    auth_settings,
    exempt_from_bearer,
    require_admin,
    require_member,
    require_person,
)

ISS, AUD = "https://idp.example.test/", "reciprocal-api"


def ec_key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


def pem(private: Any) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def claims(**override: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {"iss": ISS, "aud": AUD, "sub": "ann", "org_id": "acme", "roles": ["participant"],
            "nbf": now - timedelta(seconds=5), "exp": now + timedelta(minutes=5)}
    return {k: v for k, v in {**base, **override}.items() if v is not None}


def verifier_for(private: Any, **settings: Any) -> TokenVerifier:
    return TokenVerifier(AuthSettings(public_key=pem(private), issuer=ISS, audience=AUD, **settings))


def rejected(verifier: TokenVerifier, token: str) -> HTTPException:
    with pytest.raises(HTTPException) as caught:
        verifier.principal(token)
    return caught.value


KEY = ec_key()
VERIFIER = verifier_for(KEY)


def test_a_good_token_gives_the_principal_of_its_claims() -> None:
    token = jwt.encode(claims(roles=["participant", "mentor-of-the-month"]), KEY, algorithm="ES256")
    assert VERIFIER.principal(token) == Principal("acme", "ann", frozenset({"participant", "mentor-of-the-month"}))


def test_rsa_keys_verify_rs256() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(roles=["admin"]), rsa_key, algorithm="RS256")
    assert verifier_for(rsa_key).principal(token).is_admin


# The claims are made when each test runs: a module-level "2 minutes from now" goes stale.
@pytest.mark.parametrize("bad, reason", [
    (lambda: claims(exp=datetime.now(UTC) - timedelta(minutes=2)), "expired"),
    (lambda: claims(nbf=datetime.now(UTC) + timedelta(minutes=2)), "not yet valid"),
    (lambda: claims(iss="https://evil.example.test/"), "issuer"),
    (lambda: claims(aud="another-api"), "audience"),
    (lambda: claims(exp=None), '"exp"'),
    (lambda: claims(nbf=None), '"nbf"'),
    (lambda: claims(iss=None), '"iss"'),
    (lambda: claims(aud=None), '"aud"'),
    (lambda: claims(org_id=None), "'org_id'"),
    (lambda: claims(sub=None), "'sub'"),
    (lambda: claims(sub=""), "'sub'"),
])
def test_a_token_with_bad_or_missing_claims_is_401(bad: Any, reason: str) -> None:
    error = rejected(VERIFIER, jwt.encode(bad(), KEY, algorithm="ES256"))
    assert error.status_code == 401
    assert error.headers == {"WWW-Authenticate": "Bearer"}
    assert reason.lower() in error.detail.lower()


def test_the_leeway_forgives_a_little_clock_skew_only() -> None:
    just_expired = jwt.encode(claims(exp=datetime.now(UTC) - timedelta(seconds=5)), KEY, algorithm="ES256")
    assert VERIFIER.principal(just_expired).person == "ann"
    assert rejected(verifier_for(KEY, leeway_s=0), just_expired).status_code == 401


def test_a_token_signed_by_another_key_is_401() -> None:
    error = rejected(VERIFIER, jwt.encode(claims(), ec_key(), algorithm="ES256"))
    assert error.status_code == 401 and "signature" in error.detail.lower()


def test_alg_none_is_401() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert rejected(VERIFIER, unsigned).status_code == 401


def test_an_hmac_token_keyed_with_the_public_key_is_401() -> None:
    """The algorithm-confusion attack: HS256 with the (public) PEM as the shared secret."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims(exp=int(time.time()) + 300, nbf=int(time.time()) - 5)).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(pem(KEY).encode(), header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    assert rejected(VERIFIER, (header + b"." + body + b"." + signature).decode()).status_code == 401


def test_garbage_is_401() -> None:
    assert rejected(VERIFIER, "not-a-jwt").status_code == 401


def test_roles_may_be_a_space_separated_string_and_claims_may_be_nested() -> None:
    verifier = verifier_for(KEY, org_claim="tenant.id", roles_claim="realm_access.roles", person_claim="oid")
    token = jwt.encode(claims(sub=None, org_id=None, roles=None, oid="p-7", tenant={"id": "acme"},
                              realm_access={"roles": "admin participant"}), KEY, algorithm="ES256")
    assert verifier.principal(token) == Principal("acme", "p-7", frozenset({"admin", "participant"}))


def test_hmac_and_none_are_refused_in_the_allow_list() -> None:
    for algorithms in ("HS256", "none", "ES256,HS512", ""):
        with pytest.raises(ValueError, match="RECIPROCAL_AUTH_ALGORITHMS"):
            AuthSettings(public_key=pem(KEY), issuer=ISS, audience=AUD, algorithms=algorithms)


def test_the_allow_list_is_narrowed_to_the_configured_key() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), rsa_key, algorithm="RS256")
    assert rejected(VERIFIER, token).status_code == 401  # RS256 is allowed, but not with an EC key
    with pytest.raises(AuthNotConfigured, match="fits the configured public key"):
        verifier_for(KEY, algorithms="RS256")


def test_without_a_key_or_issuer_or_audience_the_service_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JWKS_URL", "PUBLIC_KEY", "ISSUER", "AUDIENCE"):
        monkeypatch.delenv(f"RECIPROCAL_AUTH_{name}", raising=False)
    with pytest.raises(AuthNotConfigured) as caught:
        auth_settings()
    message = str(caught.value)
    for name in ("RECIPROCAL_AUTH_JWKS_URL", "RECIPROCAL_AUTH_PUBLIC_KEY", "RECIPROCAL_AUTH_ISSUER",
                 "RECIPROCAL_AUTH_AUDIENCE"):
        assert name in message
    monkeypatch.setenv("RECIPROCAL_AUTH_PUBLIC_KEY", "not a pem")
    monkeypatch.setenv("RECIPROCAL_AUTH_ISSUER", ISS)
    monkeypatch.setenv("RECIPROCAL_AUTH_AUDIENCE", AUD)
    with pytest.raises(AuthNotConfigured, match="not a PEM public key"):
        TokenVerifier(auth_settings())


ANN = Principal("acme", "ann", frozenset({"participant"}))
ADMIN = Principal("acme", "boss", frozenset({"admin"}))
NOBODY = Principal("acme", "ann", frozenset())


def forbidden(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except HTTPException as exc:
        assert exc.status_code == 403
        return True
    return False


def test_participants_reach_their_own_data_admins_their_org() -> None:
    assert not forbidden(require_person, ANN, "ann") and forbidden(require_person, ANN, "bob")
    assert not forbidden(require_person, ADMIN, "bob")
    assert not forbidden(require_member, ANN, "bob", "ann") and forbidden(require_member, ANN, "bob", "cy")
    assert not forbidden(require_member, ADMIN, "bob", "cy")
    assert forbidden(require_admin, ANN) and not forbidden(require_admin, ADMIN)
    assert forbidden(require_person, NOBODY, "ann") and forbidden(require_member, NOBODY, "ann", "bob")


def test_only_probes_docs_and_signed_links_are_exempt() -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/asyncapi", "/asyncapi.json", "/links/accept/abc"):
        assert exempt_from_bearer(path)
    for path in ("/profiles/ann", "/healthz/x", "/links", "/people/links/inbox", "/metrics.json"):
        assert not exempt_from_bearer(path)


# JWKS ------------------------------------------------------------------------------------------------

def jwk_of(private: Any, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key())), "kid": kid, "alg": "ES256", "use": "sig"}


@contextlib.contextmanager
def jwks_server(keys: list[dict[str, Any]], fetches: list[str]) -> Iterator[str]:
    """A JWKS served from loopback; `keys` may be changed while it runs."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            body = json.dumps({"keys": keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None: ...

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/keys"
    finally:
        server.shutdown()
        server.server_close()


def test_a_rotated_jwks_key_is_fetched_for_its_new_kid() -> None:
    old, new = ec_key(), ec_key()
    keys, fetches = [jwk_of(old, "k1")], []
    with jwks_server(keys, fetches) as url:
        verifier = TokenVerifier(AuthSettings(jwks_url=url, issuer=ISS, audience=AUD, jwks_refetch_cooldown_s=0))
        assert verifier.principal(jwt.encode(claims(), old, algorithm="ES256", headers={"kid": "k1"})).org == "acme"
        assert verifier.principal(jwt.encode(claims(), old, algorithm="ES256", headers={"kid": "k1"})).org == "acme"
        assert len(fetches) == 1  # the set is cached

        rotated = jwt.encode(claims(sub="bob"), new, algorithm="ES256", headers={"kid": "k2"})
        keys[:] = [jwk_of(new, "k2")]
        assert verifier.principal(rotated).person == "bob"
        assert len(fetches) == 2

        error = rejected(verifier, jwt.encode(claims(), ec_key(), algorithm="ES256", headers={"kid": "k2"}))
        assert error.status_code == 401  # a known kid with another key's signature
        assert rejected(verifier, jwt.encode(claims(), old, algorithm="ES256", headers={"kid": "k1"})).status_code == 401


def test_an_unreachable_jwks_is_503_not_401() -> None:
    with jwks_server([], []) as url:
        pass  # closed: nothing listens there any more
    verifier = TokenVerifier(AuthSettings(jwks_url=url, issuer=ISS, audience=AUD, jwks_timeout_s=1))
    error = rejected(verifier, jwt.encode(claims(), KEY, algorithm="ES256", headers={"kid": "k1"}))
    assert error.status_code == 503


# The dependency over HTTP, and the logs ----------------------------------------------------------------

def probe_app() -> FastAPI:
    from shared.auth import Authenticated

    app = FastAPI()
    app.state.token_verifier = VERIFIER

    @app.get("/people/{person_id}/thing")
    async def thing(person_id: str, principal: Authenticated) -> dict[str, str]:
        require_person(principal, person_id)
        return {"org": principal.org}

    return app


async def call(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http:
        return await http.get(path, headers=headers)


async def test_the_dependency_answers_json_401_with_the_challenge_and_403_for_another_person() -> None:
    app = probe_app()
    token = jwt.encode(claims(), KEY, algorithm="ES256")
    for headers in (None, {"Authorization": "Basic YW5uOnB3"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer x.y.z"}):
        response = await call(app, "/people/ann/thing", headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "detail" in response.json()
    other = await call(app, "/people/bob/thing", {"Authorization": f"Bearer {token}"})
    assert other.status_code == 403 and "detail" in other.json()
    mine = await call(app, "/people/ann/thing", {"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200 and mine.json() == {"org": "acme"}


async def test_logs_of_an_authenticated_request_hold_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even careless logging of the headers, the token or a message quoting it is scrubbed."""
    import io
    import sys

    import structlog
    from fastapi import Request

    from shared.logging import configure_logging

    # Our own buffer, never closed: loggers cached here stay usable by later tests (capsys's file is closed).
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("auth-test", "DEBUG")
    app = probe_app()

    @app.get("/careless")
    async def careless(request: Request) -> dict[str, str]:
        raw = request.headers["authorization"]
        structlog.get_logger().info("request.seen", headers=dict(request.headers), Authorization=raw,
                                    token=raw.split()[1], note=f"got {raw}", nested={"id_token": raw})
        import logging

        logging.getLogger("third.party").warning("calling with %s", raw.split()[1])
        return {}

    token = jwt.encode(claims(), KEY, algorithm="ES256")
    assert (await call(app, "/people/ann/thing", {"Authorization": f"Bearer {token}"})).status_code == 200
    assert (await call(app, "/careless", {"Authorization": f"Bearer {token}"})).status_code == 200
    assert (await call(app, "/people/ann/thing", {"Authorization": f"Bearer {token[:-4]}AAAA"})).status_code == 401
    out = buffer.getvalue()
    assert "request.seen" in out and "calling with" in out
    signature = token.rsplit(".", 1)[1]
    assert token not in out and signature not in out and token.split(".")[1] not in out
