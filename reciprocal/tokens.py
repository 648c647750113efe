"""Development tokens for the embedded stack: an ES256 key pair in the stack's work dir, the matching
service environment, and tokens minted with it (`reciprocal token`, `EmbeddedStack.token`).

Only for local use: production services verify tokens of the organisation's identity provider.
"""

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.auth import ADMIN, PARTICIPANT

ISSUER = "reciprocal-embedded"
AUDIENCE = "reciprocal"
ALGORITHM = "ES256"
ROLES = (ADMIN, PARTICIPANT)


@dataclass(frozen=True)
class DevSigningKey:
    path: Path
    issuer: str = ISSUER
    audience: str = AUDIENCE

    @classmethod
    def create(cls, directory: Path) -> "DevSigningKey":
        """A new P-256 private key, readable only by its owner, unless one is already there."""
        path = directory / "signing-key.pem"
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        return cls(path)

    def _private(self) -> Any:
        return serialization.load_pem_private_key(self.path.read_bytes(), password=None)

    def public_pem(self) -> str:
        return self._private().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def service_env(self) -> dict[str, str]:
        """What a service needs to verify these tokens."""
        return {"RECIPROCAL_AUTH_PUBLIC_KEY": self.public_pem(), "RECIPROCAL_AUTH_ISSUER": self.issuer,
                "RECIPROCAL_AUTH_AUDIENCE": self.audience, "RECIPROCAL_AUTH_ALGORITHMS": ALGORITHM}

    def state(self) -> dict[str, str]:
        return {"signing_key": str(self.path), "issuer": self.issuer, "audience": self.audience}

    def mint(self, org: str, role: str, person: str | None = None, ttl: timedelta = timedelta(hours=1)) -> str:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if role == PARTICIPANT and not person:
            raise ValueError("a participant token names its person")
        now = datetime.now(UTC)
        claims = {"iss": self.issuer, "aud": self.audience, "sub": person or f"{role}@{org}", "org_id": org,
                  "roles": [role], "iat": now, "nbf": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._private(), algorithm=ALGORITHM)


def demo_tokens(key: DevSigningKey, ttl: timedelta = timedelta(hours=12)) -> dict[str, Any]:
    """An admin token of the demo org and a participant token for each demo person."""
    from reciprocal.cohort import ORG, PEOPLE

    return {"org_id": ORG, "admin": key.mint(ORG, ADMIN, ttl=ttl),
            "participants": {p["person_id"]: key.mint(ORG, PARTICIPANT, p["person_id"], ttl=ttl) for p in PEOPLE}}
