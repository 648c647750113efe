"""Bearer-token authentication and the access rules every HTTP endpoint applies.

A token is a JWT from the organisation's OIDC issuer (Entra ID, Okta, Keycloak, ...), verified with
PyJWT against the issuer's JWKS (RECIPROCAL_AUTH_JWKS_URL) or one configured public key
(RECIPROCAL_AUTH_PUBLIC_KEY, PEM). The tenant, the roles and the person come only from its claims.

Answers: 401 (with `WWW-Authenticate: Bearer`) for a missing, malformed, badly signed, expired or
not-yet-valid token, or one without the org/person claims; 403 for a missing role or another person's
data. Everything is looked up inside the token's org, so another org's ids are answered 404, exactly
like ids that do not exist: an answer never tells whether something exists in another org.
"""

from dataclasses import dataclass
from typing import Annotated, Any

import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = structlog.get_logger()

ADMIN = "admin"
PARTICIPANT = "participant"
REQUIRED_CLAIMS = ("exp", "nbf", "iss", "aud")

# Signature algorithms by key family: no `none`, and no HS* (a public key must never be used as an HMAC secret).
ALGORITHMS_OF_KEY: dict[type, frozenset[str]] = {
    rsa.RSAPublicKey: frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    ec.EllipticCurvePublicKey: frozenset({"ES256", "ES384", "ES512"}),
    ed25519.Ed25519PublicKey: frozenset({"EdDSA"}),
    ed448.Ed448PublicKey: frozenset({"EdDSA"}),
}
ASYMMETRIC = frozenset().union(*ALGORITHMS_OF_KEY.values())

# Answered without a bearer token: probes, metrics and API descriptions (no tenant data in any of them).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/asyncapi", "/asyncapi.json",
                          "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# The notifier's one-click links carry their own signature in the URL, and a calendar feed's secret
# address is its own credential (calendar apps cannot send a bearer token); they take no bearer token.
SIGNED_LINK_PREFIX = "/links/"
SECRET_FEED_PREFIX = "/calendar/"


def exempt_from_bearer(path: str) -> bool:
    """The one list of paths that answer without a bearer token."""
    return path in PUBLIC_PATHS or path.startswith((SIGNED_LINK_PREFIX, SECRET_FEED_PREFIX))


class AuthNotConfigured(RuntimeError):
    """The service cannot verify tokens, so it refuses to start."""


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECIPROCAL_AUTH_", extra="ignore")

    jwks_url: str = Field(default="", description="The issuer's JWKS, e.g. https://login.example.com/.../keys.")
    public_key: str = Field(default="", description="A PEM public key, used when there is no JWKS URL.")
    issuer: str = Field(default="", description="The required `iss`.")
    audience: str = Field(default="", description="The required `aud`: this API's client or resource id.")
    algorithms: Annotated[list[str], NoDecode] = Field(
        default=["RS256", "ES256"], description="Allowed signature algorithms, comma-separated; asymmetric only.")
    org_claim: str = Field(
        default="org_id", description="Claim holding the tenant; a dotted path reads nested claims.")
    roles_claim: str = Field(
        default="roles", description="Claim holding the roles (a list or a space-separated string).")
    person_claim: str = Field(default="sub", description="Claim holding the caller's person id.")
    leeway_s: float = Field(default=30.0, ge=0, description="Clock skew allowed on `exp` and `nbf`.")
    jwks_cache_s: int = Field(
        default=300, gt=0, description="How long a fetched JWKS is reused; an unknown `kid` refetches.")
    jwks_timeout_s: float = Field(default=5.0, gt=0)
    jwks_refetch_cooldown_s: float = Field(
        default=30.0,
        ge=0,
        description="Least time between two refetches for unknown `kid`s, so forged kids cannot flood the issuer.",
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [a.strip() for a in value.split(",") if a.strip()] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _verifiable(self) -> "AuthSettings":
        missing = [name for name, value in (("RECIPROCAL_AUTH_ISSUER", self.issuer),
                                            ("RECIPROCAL_AUTH_AUDIENCE", self.audience)) if not value]
        if not (self.jwks_url or self.public_key):
            missing.insert(0, "RECIPROCAL_AUTH_JWKS_URL or RECIPROCAL_AUTH_PUBLIC_KEY")
        if missing:
            raise ValueError("bearer tokens cannot be verified: set " + ", ".join(missing))
        if not self.algorithms or set(self.algorithms) - ASYMMETRIC:
            raise ValueError(f"RECIPROCAL_AUTH_ALGORITHMS must be a non-empty subset of {sorted(ASYMMETRIC)}")
        return self


def auth_settings() -> AuthSettings:
    """Settings from the environment, or AuthNotConfigured with the variables to set."""
    try:
        return AuthSettings()
    except ValidationError as exc:
        raise AuthNotConfigured("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the org they belong to, their roles and their person id."""

    org: str
    person: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_participant(self) -> bool:
        return PARTICIPANT in self.roles


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def forbidden(reason: str) -> HTTPException:
    return HTTPException(status_code=403, detail=reason)


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        self._key: Any = None
        self._algorithms = list(settings.algorithms)
        if settings.jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwks_url, lifespan=settings.jwks_cache_s,
                                         timeout=settings.jwks_timeout_s,
                                         cooldown_duration=settings.jwks_refetch_cooldown_s)
        else:
            try:
                self._key = load_pem_public_key(settings.public_key.encode())
            except ValueError as exc:
                raise AuthNotConfigured(f"RECIPROCAL_AUTH_PUBLIC_KEY is not a PEM public key ({exc})") from None
            family = next(
                (algs for kind, algs in ALGORITHMS_OF_KEY.items() if isinstance(self._key, kind)), frozenset())
            self._algorithms = [a for a in settings.algorithms if a in family]
            if not self._algorithms:
                raise AuthNotConfigured(
                    f"RECIPROCAL_AUTH_ALGORITHMS {settings.algorithms} has none that fits the configured public key")

    def principal(self, token: str) -> Principal:
        """The caller of a verified token; 401 for any token that is not valid, 503 if the JWKS is unreachable."""
        s = self.settings
        try:
            key = self._jwks.get_signing_key_from_jwt(token) if self._jwks else self._key
            claims = jwt.decode(token, key, algorithms=self._algorithms, audience=s.audience, issuer=s.issuer,
                                leeway=s.leeway_s, options={"require": list(REQUIRED_CLAIMS)})
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("auth.jwks_unreachable", error=type(exc).__name__)
            raise HTTPException(status_code=503, detail="the token issuer's keys cannot be fetched") from None
        except jwt.PyJWTError as exc:
            log.info("auth.token_rejected", error=type(exc).__name__)
            raise unauthorized(f"invalid bearer token: {exc}") from None
        org, person, roles = _claim(claims, s.org_claim), _claim(claims, s.person_claim), _claim(claims, s.roles_claim)
        for name, value in ((s.org_claim, org), (s.person_claim, person)):
            if not isinstance(value, str) or not value:
                raise unauthorized(f"invalid bearer token: claim {name!r} is missing")
        if isinstance(roles, str):
            roles = roles.split()
        return Principal(org=org, person=person, roles=frozenset(r for r in roles or () if isinstance(r, str)))


_bearer = HTTPBearer(auto_error=False, description="A JWT from the organisation's identity provider.")


def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The FastAPI dependency every endpoint takes (sync: a JWKS fetch runs off the event loop)."""
    if credentials is None:
        raise unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.principal(credentials.credentials)


Authenticated = Annotated[Principal, Depends(authenticated)]


def require_admin(principal: Principal) -> None:
    """Program-level reads: admins of the token's org only."""
    if not principal.is_admin:
        raise forbidden("the admin role is required")


def require_person(principal: Principal, person_id: str) -> None:
    """A person's own data: that participant, or an admin of the org."""
    if not (principal.is_admin or (principal.is_participant and principal.person == person_id)):
        raise forbidden("this is another person's data")


def require_member(principal: Principal, person_a: str, person_b: str) -> None:
    """A pair's data (match, partnership): either partner, or an admin of the org."""
    if not (principal.is_admin or (principal.is_participant and principal.person in (person_a, person_b))):
        raise forbidden("this is another pair's data")
