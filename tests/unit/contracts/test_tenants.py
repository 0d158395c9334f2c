"""The tenants file: env references, lookups, and errors that name the key."""

import re
from pathlib import Path

import pytest

from contracts import TenantsFileError, load_tenants, parse_tenants

MINIMAL = """
[meta]
app_secret = "env:META_SECRET"
verify_token = "token"

[[tenants]]
id = "acme"
name = "Acme"
default_region = "GB"
api_keys = ["env:ACME_KEY"]
reference_pattern = '\\b[A-Z]{3}-\\d{6}\\b'
sms_numbers = ["+15557122661"]
twilio_account_sid = "AC1"
email_addresses = ["Bookings@Acme.example", "@mail.acme.example"]
whatsapp_phone_number_ids = ["106540352242922"]
"""

ENV = {"META_SECRET": "s3cret", "ACME_KEY": "key-1"}


def test_env_references_are_resolved() -> None:
    """`env:NAME` strings read the environment; literals stay as written."""
    tenants = parse_tenants(MINIMAL, environ=ENV)
    assert tenants.config.meta is not None
    assert tenants.config.meta.app_secret.get_secret_value() == "s3cret"
    assert tenants.config.meta.verify_token.get_secret_value() == "token"
    acme = tenants.get("acme")
    assert acme is not None
    assert acme.reference_pattern == re.compile(r"\b[A-Z]{3}-\d{6}\b")


def test_missing_environment_variable_names_the_key() -> None:
    """An unset variable stops loading with the path of the key that needs it."""
    with pytest.raises(TenantsFileError, match=r"tenants\[0\]\.api_keys\[0\].*ACME_KEY"):
        parse_tenants(MINIMAL, environ={"META_SECRET": "x"})


def test_malformed_value_names_the_tenant_and_field() -> None:
    """A bad region is reported against the tenant id and field name."""
    text = MINIMAL.replace('default_region = "GB"', 'default_region = "Britain"')
    with pytest.raises(TenantsFileError, match=r"tenants\['acme'\]\.default_region"):
        parse_tenants(text, environ=ENV)


def test_invalid_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    """Syntax errors and unreadable files say what is wrong and where."""
    with pytest.raises(TenantsFileError, match="not valid TOML"):
        parse_tenants("[[tenants]\n", environ={})
    missing = tmp_path / "nope.toml"
    with pytest.raises(TenantsFileError, match=r"nope\.toml: cannot read"):
        load_tenants(missing)


def test_duplicate_claims_are_refused() -> None:
    """Two tenants cannot both own a number, and ids are unique."""
    second = """
[[tenants]]
id = "globex"
name = "Globex"
whatsapp_phone_number_ids = ["106540352242922"]
"""
    with pytest.raises(TenantsFileError, match="claimed by both"):
        parse_tenants(MINIMAL + second, environ=ENV)
    with pytest.raises(TenantsFileError, match="appears twice"):
        parse_tenants(MINIMAL + second.replace("globex", "acme"), environ=ENV)


def test_lookups_by_provider_identifiers() -> None:
    """Tenants are found by account ids, email (tag and case ignored, domains) and API key."""
    tenants = parse_tenants(MINIMAL, environ=ENV)
    assert tenants.by_whatsapp_phone_number_id("106540352242922") is tenants.get("acme")
    assert tenants.by_twilio_account_sid("AC1") is tenants.get("acme")
    assert tenants.by_email_address("bookings+ABC-123456@acme.example") is tenants.get("acme")
    assert tenants.by_email_address("anyone@MAIL.acme.example") is tenants.get("acme")
    assert tenants.by_email_address("bookings@other.example") is None
    assert tenants.by_api_key("key-1") is tenants.get("acme")
    assert tenants.by_api_key("key-2") is None


def test_demo_tenants_file_loads() -> None:
    """The file `make run` starts with is valid."""
    root = Path(__file__).resolve().parents[3]
    tenants = load_tenants(root / "deploy" / "dev" / "tenants.toml", environ={})
    assert [tenant.id for tenant in tenants.tenants] == ["acme"]
