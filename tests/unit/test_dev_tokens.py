"""The embedded stack's development key pair, its tokens and `reciprocal token`."""

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reciprocal.cli import app
from reciprocal.cohort import ORG, PEOPLE
from reciprocal.embedded import EmbeddedStack
from reciprocal.tokens import demo_tokens
from shared.auth import AuthSettings, Principal, TokenVerifier


def verifier_of(stack: EmbeddedStack) -> TokenVerifier:
    env = stack.signing_key().service_env()
    return TokenVerifier(AuthSettings(**{k.removeprefix("RECIPROCAL_AUTH_").lower(): v for k, v in env.items()}))


def test_the_stack_key_is_private_and_its_tokens_verify_with_the_service_env(tmp_path: Path) -> None:
    stack = EmbeddedStack(workdir=tmp_path)
    assert stat.S_IMODE(stack.signing_key().path.stat().st_mode) == 0o600
    assert stack.signing_key().public_pem() == EmbeddedStack(workdir=tmp_path).signing_key().public_pem()
    verifier = verifier_of(stack)
    assert verifier.principal(stack.token("acme", "participant", "ann")) == Principal("acme", "ann", frozenset({"participant"}))
    assert verifier.principal(stack.token("acme", "admin")).is_admin
    with pytest.raises(ValueError, match="names its person"):
        stack.token("acme", "participant")
    with pytest.raises(ValueError, match="role must be"):
        stack.token("acme", "root")


def test_the_state_file_holds_demo_tokens_and_reciprocal_token_mints_more(tmp_path: Path) -> None:
    stack = EmbeddedStack(workdir=tmp_path / "stack")
    state_file = tmp_path / "state.json"
    stack.write_state(state_file, tokens=demo_tokens(stack.signing_key(), ttl=timedelta(hours=1)))
    state = json.loads(state_file.read_text())
    verifier = verifier_of(stack)
    assert verifier.principal(state["tokens"]["admin"]) == Principal(ORG, f"admin@{ORG}", frozenset({"admin"}))
    assert set(state["tokens"]["participants"]) == {p["person_id"] for p in PEOPLE}
    maria = verifier.principal(state["tokens"]["participants"]["maria.lopez"])
    assert (maria.org, maria.person, maria.is_participant) == (ORG, "maria.lopez", True)

    runner = CliRunner()
    minted = runner.invoke(app, ["token", "--org", "acme", "--role", "participant", "--person", "ann", "--ttl", "PT8H",
                                 "--state-file", str(state_file)])
    assert minted.exit_code == 0, minted.output
    assert verifier.principal(minted.output.strip()).person == "ann"
    refused = runner.invoke(app, ["token", "--org", "acme", "--role", "participant", "--state-file", str(state_file)])
    assert refused.exit_code == 2 and "names its person" in refused.output
