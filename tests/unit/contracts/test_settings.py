"""Settings come from THREADLINE_* variables with the defaults of docs/configuration.md."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from contracts import Settings


def test_defaults_match_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no environment, the documented defaults apply."""
    for name in ("KAFKA_BOOTSTRAP", "MONGO_URI", "MONGO_DB", "TENANTS_FILE"):
        monkeypatch.delenv(f"THREADLINE_{name}", raising=False)
    settings = Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.mongo_uri == "mongodb://127.0.0.1:27017/?directConnection=true"
    assert settings.mongo_db == "threadline"
    assert str(settings.tenants_file) == "tenants.toml"
    assert settings.topic_messages == "chat.messages.v1"
    assert settings.kafka_idempotence is False


def test_environment_overrides_and_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables are read with the prefix and typed (durations, bounded ints)."""
    monkeypatch.setenv("THREADLINE_TOPIC_MESSAGES", "custom.messages")
    monkeypatch.setenv("THREADLINE_PUBLISH_TIMEOUT", "2.5")
    monkeypatch.setenv("THREADLINE_HTTP_PORT", "9000")
    settings = Settings()
    assert settings.topic_messages == "custom.messages"
    assert settings.publish_timeout == timedelta(seconds=2.5)
    assert settings.http_port == 9000
    monkeypatch.setenv("THREADLINE_HTTP_PORT", "70000")
    with pytest.raises(ValidationError, match="http_port"):
        Settings()
