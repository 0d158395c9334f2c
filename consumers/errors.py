"""What a handler's failure means for the record: retry it later, or dead-letter it now."""

from aiokafka.errors import KafkaError
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from contracts import Tenant, TenantDirectory


class PoisonMessage(Exception):
    """The record can never be handled as it is (invalid, unknown tenant): dead-letter it."""


#: A dependency is unreachable or slow: keep the offset, back off, and try again.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    WTimeoutError,
    KafkaError,
    TimeoutError,
)


def known_tenant(tenants: TenantDirectory, tenant_id: str) -> Tenant:
    """The tenant a record names; a tenant missing from the tenants file is poison."""
    tenant = tenants.get(tenant_id)
    if tenant is None:
        raise PoisonMessage(f"unknown tenant {tenant_id!r}")
    return tenant
