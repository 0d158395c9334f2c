"""Fixtures every test may use."""

from pathlib import Path

import pytest

from contracts import TenantDirectory, load_tenants

FIXTURES = Path(__file__).parent / "fixtures"
PROVIDERS = FIXTURES / "providers"


def provider_fixture(name: str) -> bytes:
    """The exact bytes of a recorded provider payload."""
    return (PROVIDERS / name).read_bytes()


@pytest.fixture(scope="session")
def tenants() -> TenantDirectory:
    return load_tenants(FIXTURES / "tenants.toml")
