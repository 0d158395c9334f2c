"""How the customer rules' refusals answer over HTTP, on every route that names a customer."""

from typing import Any

from litestar import Request, Response

from domain.customers import CustomerError, CustomerNotFound, IdentifierTaken
from ingest.errors import ApiError, Conflict, NotFound, handle_api_error


def _as_api_error(error: CustomerError) -> ApiError:
    match error:
        case CustomerNotFound(merged_into=str(survivor)):
            return NotFound("customer was merged", details={"merged_into": survivor})
        case CustomerNotFound():
            return NotFound("customer not found")
        case IdentifierTaken(owners=owners):
            return Conflict(
                "an email or external id belongs to another customer; merge them instead",
                details={"taken_by": owners},
            )
    # MergeRefused, ChangedConcurrently: the request conflicts with the profiles as they are.
    return Conflict(str(error))


def handle_customer_error(
    request: Request[Any, Any, Any], error: CustomerError
) -> Response[dict[str, Any]]:
    return handle_api_error(request, _as_api_error(error))
