import pytest
from pydantic import ValidationError

from services.notifier.settings import NotifierSettings


def test_production_retry_defaults(monkeypatch):
    for name in ("DELIVERY_ATTEMPTS", "DELIVERY_BACKOFF_S", "DELIVERY_BACKOFF_MAX_S"):
        monkeypatch.delenv(f"RECIPROCAL_{name}", raising=False)
    settings = NotifierSettings()
    assert (settings.delivery_attempts, settings.delivery_backoff_s, settings.delivery_backoff_max_s) == (8, 1.0, 300.0)


def test_backoff_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("RECIPROCAL_DELIVERY_BACKOFF_MAX_S", "30")
    assert NotifierSettings().delivery_backoff_max_s == 30.0


def test_starttls_and_implicit_tls_are_mutually_exclusive(monkeypatch):
    monkeypatch.setenv("RECIPROCAL_SMTP_STARTTLS", "true")
    assert NotifierSettings().smtp_starttls
    monkeypatch.setenv("RECIPROCAL_SMTP_USE_TLS", "true")
    with pytest.raises(ValidationError, match="mutually exclusive"):
        NotifierSettings()
