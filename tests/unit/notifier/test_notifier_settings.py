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


def test_links_point_under_the_public_url_or_else_the_services_own_http_url(monkeypatch):
    assert NotifierSettings(http_host="127.0.0.1", http_port=8123).links_base_url == "http://127.0.0.1:8123"
    assert NotifierSettings(http_host="0.0.0.0", http_port=8080).links_base_url == "http://localhost:8080"
    monkeypatch.setenv("RECIPROCAL_PUBLIC_URL", "https://mentoring.example/")
    assert NotifierSettings().links_base_url == "https://mentoring.example"


def test_the_link_secret_is_required_and_not_trivially_short(monkeypatch):
    monkeypatch.delenv("RECIPROCAL_LINK_SECRET", raising=False)
    with pytest.raises(ValueError, match="RECIPROCAL_LINK_SECRET"):
        NotifierSettings().require_link_secret()
    with pytest.raises(ValueError, match="RECIPROCAL_LINK_SECRET"):
        NotifierSettings(link_secret="short").require_link_secret()
    monkeypatch.setenv("RECIPROCAL_LINK_SECRET", "a-long-enough-secret-value")
    assert NotifierSettings().require_link_secret() == "a-long-enough-secret-value"
