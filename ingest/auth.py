"""Bearer API keys of the ``/v1`` routes: each key belongs to one tenant."""

from typing import Any

from litestar import Request

from contracts import Tenant, TenantDirectory
from ingest.errors import Unauthorized


def tenant_from_bearer(request: Request[Any, Any, Any], tenants: TenantDirectory) -> Tenant:
    """The tenant whose API key the request presents; 401 when there is none or it is wrong."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("missing bearer API key")
    tenant = tenants.by_api_key(key.strip())
    if tenant is None:
        raise Unauthorized("invalid API key")
    return tenant
