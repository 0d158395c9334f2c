"""Dependencies of the read API, per request: the caller's tenant and the customer service."""

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from contracts import Tenant, TenantDirectory
from domain.customers import CustomerService
from domain.store.database import Store
from ingest.auth import tenant_from_bearer


def provide_tenant(
    request: Request[Any, Any, Any], tenants: NamedDependency[TenantDirectory]
) -> Tenant:
    """Every ``/v1`` read is scoped to the tenant whose API key the request presents."""
    return tenant_from_bearer(request, tenants)


def provide_customer_service(store: NamedDependency[Store]) -> CustomerService:
    return CustomerService(store)
