"""Settings come from THREADLINE_* variables with the defaults of docs/configuration.md."""

from datetime import timedelta
from pathlib import Path

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


def test_a_sasl_protocol_without_its_login_is_refused_naming_the_settings() -> None:
    """SASL_SSL with no username or password cannot connect: refused at start."""
    with pytest.raises(ValidationError, match="THREADLINE_KAFKA_SASL_USERNAME"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="svc")


def test_tls_files_are_checked_at_start(tmp_path: Path) -> None:
    """A missing CA file, a certificate without its key, or TLS files with a plaintext
    protocol are each refused naming the setting."""
    with pytest.raises(ValidationError, match="THREADLINE_KAFKA_SSL_CA_FILE: no such file"):
        Settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=tmp_path / "absent.pem")
    present = tmp_path / "cert.pem"
    present.write_text("x")
    with pytest.raises(ValidationError, match="go together"):
        Settings(kafka_security_protocol="SSL", kafka_ssl_cert_file=present)
    with pytest.raises(ValidationError, match="has no TLS"):
        Settings(kafka_security_protocol="PLAINTEXT", kafka_ssl_ca_file=present)


def test_every_kafka_client_gets_the_security_options() -> None:
    """The factory's options carry the protocol, a verifying TLS context and the SASL login;
    the password is not in the settings' repr."""
    import ssl

    from clients import kafka

    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password="s3cret-value",
    )
    options = kafka.security(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert options["ssl_context"].check_hostname is True
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "svc",
        "s3cret-value",
    )
    assert "s3cret-value" not in repr(settings)
    assert kafka.security(Settings()) == {"security_protocol": "PLAINTEXT"}
