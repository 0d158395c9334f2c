"""Dependencies of the read API: the caller's tenant and the store, per request."""

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from consumers.customers import CustomerService
from consumers.store.database import Store
from contracts import Tenant, TenantDirectory
from ingest.auth import tenant_from_bearer


def provide_tenant(
    request: Request[Any, Any, Any], tenants: NamedDependency[TenantDirectory]
) -> Tenant:
    """Every ``/v1`` read is scoped to the tenant whose API key the request presents."""
    return tenant_from_bearer(request, tenants)


def provide_store(state: State) -> Store:
    store: Store = state.store
    return store


def provide_customer_service(store: NamedDependency[Store]) -> CustomerService:
    return CustomerService(store)
