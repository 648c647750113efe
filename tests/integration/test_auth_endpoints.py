"""Every HTTP endpoint of every service, enumerated from its FastAPI app, asks for a verified bearer token
and lets a caller see only their own data: no token or an expired one is 401, another org, another
participant or a missing role never gets the data. A new endpoint without the dependency fails here."""

import asyncio
import re
import uuid
from collections.abc import Iterator
from importlib import import_module

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.routing import Route
from support import PROGRAM, of_org, profile, verify_with

from reciprocal.embedded import SERVICES
from reciprocal.processes import StartupError
from reciprocal.wire import Frontend, Tap
from shared.auth import exempt_from_bearer
from shared.runtime import create_app
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


def endpoints(stack, name: str, *, exempt: bool = False) -> list[tuple[str, str]]:
    """(method, path template) of every route of the service's app that is not exempt from bearer tokens
    (or, with `exempt`, of those that are)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        verify_with(stack, monkeypatch)
        spec = import_module(f"services.{name}.app").SPEC
        app = create_app(spec, spec.settings_cls(service=name, mongo_url=stack.mongo_url,
                                                 kafka_bootstrap=stack.kafka_bootstrap, log_level="WARNING"))
    assert isinstance(app.state.ctx.settings, ServiceSettings)
    found = list(flat_routes(app.routes))
    assert set(app.openapi()["paths"]) <= {path for path, _ in found}
    return [(method, path) for path, methods in found for method in sorted(methods - {"HEAD"})
            if exempt_from_bearer(path) == exempt]


def flat_routes(routes: list, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, also inside included routers (which FastAPI no longer flattens)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flat_routes(included.routes, prefix + (getattr(route.include_context, "prefix", "") or ""))
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or ())
        else:
            raise AssertionError(f"a route this test cannot enumerate: {route!r}")


@pytest.fixture(scope="module")
async def seeded(stack):
    """Ann and Bob of a fresh org in an accepted match with a schedule and a partnership."""
    org = f"org-{uuid.uuid4().hex[:6]}"
    ann = profile(org, "ann", offers=["leadership"], wants=["python"])
    bob = profile(org, "bob", offers=["python"], wants=["leadership"])
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.changed",
                                                                                   "schedules.created"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (ann, bob):
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: len(of_org(t.events("profiles.changed"), org)) == 2, what="profiles.changed")
        await fe.publish("matches.accepted", {
            "org_id": org, "match_id": f"m-{org}", "program_id": "pilot", "person_a": "ann", "person_b": "bob",
            "a_teaches_b": [{"skill": "leadership", "goal": "lead a team"}],
            "b_teaches_a": [{"skill": "python", "goal": "automate reports"}]})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
    balance = f"{stack.service_url('progress')}/partnerships/m-{org}/balance"
    admin = {"Authorization": f"Bearer {stack.token(org, 'admin')}"}
    for _ in range(100):
        if httpx.get(balance, headers=admin).status_code == 200:
            break
        await asyncio.sleep(0.2)
    return {"org": org, "match_id": f"m-{org}"}


def url_of(stack, name: str, template: str, seeded: dict) -> str:
    values = {"person_id": "ann", "match_id": seeded["match_id"], "program_id": "pilot"}
    return stack.service_url(name) + re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), template)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PERSON_KEYED = re.compile(r"^/(people|profiles)/\{person_id\}")
# A pair's data, for its partners; an admin's actions on a pair (withdraw, end) are admin-only, like a program's.
PAIR_KEYED = re.compile(r"^/(matches|partnerships)/\{match_id\}(?!/(withdraw|end)$)")


@pytest.mark.parametrize("name", SERVICES)
async def test_every_endpoint_needs_a_token_of_the_right_org_person_and_role(stack, seeded, name: str) -> None:
    org = seeded["org"]
    found = endpoints(stack, name)
    assert found, f"{name} has no endpoints to check"
    tokens = {
        "admin": stack.token(org, "admin"),
        "ann": stack.token(org, "participant", "ann"),
        "bob": stack.token(org, "participant", "bob"),
        "mallory": stack.token(org, "participant", "mallory"),
        "expired": stack.token(org, "admin", ttl_s=-120),
        "other-org-admin": stack.token(f"other-{org}", "admin"),
        "other-org-ann": stack.token(f"other-{org}", "participant", "ann"),
    }
    for method, template in found:
        url = url_of(stack, name, template, seeded)
        what = f"{method} {template}"

        def send(token: str | None, headers: dict[str, str] | None = None, method: str = method,
                 url: str = url) -> httpx.Response:
            if headers is None:
                headers = bearer(token) if token else {}
            return httpx.request(method, url, headers=headers)

        for unauthenticated in (send(None), send(tokens["expired"]), send(None, {"Authorization": "Bearer not.a.jwt"}),
                                send(None, {"X-Org-Id": org})):
            assert unauthenticated.status_code == 401, what
            assert unauthenticated.headers["www-authenticate"] == "Bearer", what
            assert "detail" in unauthenticated.json(), what

        admin = send(tokens["admin"])
        assert admin.status_code in (200, 201, 404), (what, admin.text)
        for outsider in ("other-org-admin", "other-org-ann"):
            response = send(tokens[outsider])
            assert response.status_code in (200, 201, 403, 404), (what, outsider)
            assert org not in response.text and "ann@example.com" not in response.text, (what, outsider, response.text)

        mallory = send(tokens["mallory"])
        # A pair that does not exist is 404 for everyone; one that exists is 403 for a stranger of the same org.
        expected = 404 if PAIR_KEYED.match(template) and admin.status_code == 404 else 403
        assert mallory.status_code == expected, (what, mallory.status_code)
        assert "detail" in mallory.json(), what

        member = send(tokens["ann"])
        if PERSON_KEYED.match(template) or PAIR_KEYED.match(template):
            assert member.status_code == admin.status_code, (what, member.text)
            if PAIR_KEYED.match(template):
                assert send(tokens["bob"]).status_code == admin.status_code, what
        else:
            assert member.status_code == 403, (what, "program-level endpoints are for admins only")


async def test_the_seeded_data_is_readable_by_its_owners(stack, seeded) -> None:
    """So that the 403s above guard data that exists: the right tokens get 200."""
    org, match_id = seeded["org"], seeded["match_id"]
    ann = bearer(stack.token(org, "participant", "ann"))
    assert httpx.get(f"{stack.service_url('profiles')}/profiles/ann", headers=ann).json()["email"] == "ann@example.com"
    assert httpx.get(f"{stack.service_url('scheduler')}/matches/{match_id}/schedule", headers=ann).status_code == 200
    assert httpx.get(f"{stack.service_url('scheduler')}/people/ann/sessions.ics", headers=ann).status_code == 200
    assert httpx.get(f"{stack.service_url('progress')}/partnerships/{match_id}/balance", headers=ann).status_code == 200
    admin = bearer(stack.token(org, "admin"))
    assert httpx.get(f"{stack.service_url('progress')}/programs/pilot/outcomes", headers=admin).status_code == 200
    mallory = bearer(stack.token(org, "participant", "mallory"))
    schedule_url = f"{stack.service_url('scheduler')}/matches/{match_id}/schedule"
    balance_url = f"{stack.service_url('progress')}/partnerships/{match_id}/balance"
    assert httpx.get(schedule_url, headers=mallory).status_code == 403
    assert httpx.get(balance_url, headers=mallory).status_code == 403


async def test_a_token_without_a_known_role_reads_nothing(stack, seeded) -> None:
    token = stack.signing_key().mint(seeded["org"], "participant", "ann")
    claims = jwt.decode(token, options={"verify_signature": False})
    key = serialization.load_pem_private_key(stack.signing_key().path.read_bytes(), password=None)
    roleless = jwt.encode({**claims, "roles": ["guest"]}, key, algorithm="ES256")
    response = httpx.get(f"{stack.service_url('profiles')}/profiles/ann", headers=bearer(roleless))
    assert response.status_code == 403


def test_a_service_without_a_verification_key_refuses_to_start(stack) -> None:
    stack.start_service("profiles", instance="profiles-keyless", RECIPROCAL_AUTH_PUBLIC_KEY="")
    try:
        with pytest.raises(StartupError):
            stack.wait_ready(("profiles-keyless",), timeout=30)
        assert "RECIPROCAL_AUTH_JWKS_URL or RECIPROCAL_AUTH_PUBLIC_KEY" in stack.log_of("profiles-keyless").read_text()
    finally:
        stack.stop_service("profiles-keyless")


async def test_the_signed_links_and_secret_feeds_are_the_only_other_routes_without_a_bearer_token(stack, seeded):
    """They answer on their own terms (their signature, their secret address), never with the bearer challenge."""
    feeds = [(m, path) for m, path in endpoints(stack, "scheduler", exempt=True) if path.startswith("/calendar/")]
    assert feeds == [("GET", "/calendar/{token}.ics")]
    made_up = httpx.get(stack.service_url("scheduler") + "/calendar/" + "x" * 43 + ".ics")
    assert made_up.status_code == 404 and "www-authenticate" not in made_up.headers
    links = [(method, path) for method, path in endpoints(stack, "notifier", exempt=True) if path.startswith("/links/")]
    assert {method for method, _ in links} == {"GET", "POST"}
    for method, template in links:
        response = httpx.request(method, url_of(stack, "notifier", template, seeded))
        assert response.status_code != 401 and "www-authenticate" not in response.headers, (method, template)
        assert response.status_code in (400, 404, 410), (method, template, response.status_code)
    others = {path for name in SERVICES for _, path in endpoints(stack, name, exempt=True)
              if not path.startswith(("/links/", "/calendar/"))}
    assert others <= {"/healthz", "/readyz", "/metrics", "/asyncapi", "/asyncapi.json", "/openapi.json", "/docs",
                      "/docs/oauth2-redirect", "/redoc"}
