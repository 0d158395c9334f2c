"""Bearer API keys of the ``/v1`` routes: each key belongs to one tenant."""

from collections.abc import Iterable
from typing import Any

from litestar import Request

from contracts import Tenant, TenantDirectory
from ingest.errors import BadRequest, Unauthorized

#: Headers that authenticate a request or say how to read its body: given twice, a request
#: is ambiguous and refused rather than read one way or the other.
CREDENTIAL_HEADERS = frozenset(
    {
        b"authorization",
        b"x-hub-signature-256",
        b"x-twilio-signature",
        b"content-type",
        b"x-twilio-email-event-webhook-signature",
        b"x-twilio-email-event-webhook-timestamp",
        b"x-twilio-webhooks-signature-settings",
    }
)


def refuse_repeated(headers: Iterable[tuple[bytes, bytes]], names: frozenset[bytes]) -> None:
    """400 naming the first of ``names`` that the request repeats."""
    seen: set[bytes] = set()
    for name, _ in headers:
        if name in names:
            if name in seen:
                header = name.decode()
                raise BadRequest(f"the {header} header is given twice", details=[{"field": header}])
            seen.add(name)


def tenant_from_bearer(request: Request[Any, Any, Any], tenants: TenantDirectory) -> Tenant:
    """The tenant whose API key the request presents; 401 when there is none or it is wrong,
    400 when the request presents two (which one would it be?)."""
    refuse_repeated(request.scope["headers"], CREDENTIAL_HEADERS)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("missing bearer API key")
    tenant = tenants.by_api_key(key.strip())
    if tenant is None:
        raise Unauthorized("invalid API key")
    return tenant
