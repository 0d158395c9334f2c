"""Corrections to the generated OpenAPI document, so it states what the server enforces.

Litestar's generator leaves out two rules the request models apply: unknown fields are
refused (``additionalProperties: false``) and each email must look like an address (a
pattern inside a list). Both answer 422, so the document says so.
"""

from litestar import Litestar
from litestar.openapi.spec import Reference, Schema

from ingest.api.schemas.customers import EMAIL_PATTERN, REQUEST_MODELS


def tighten_request_schemas(app: Litestar) -> None:
    components = app.openapi_schema.components
    schemas = components.schemas if components and components.schemas else {}
    for model in REQUEST_MODELS:
        schema = schemas.get(model.__name__)
        if schema is None:
            continue
        schema.additional_properties = False
        emails = (schema.properties or {}).get("emails")
        for candidate in _alternatives(emails):
            if isinstance(candidate.items, Schema):
                candidate.items.pattern = EMAIL_PATTERN
                candidate.items.max_length = 320


def _alternatives(schema: Schema | Reference | None) -> list[Schema]:
    if not isinstance(schema, Schema):
        return []
    return [schema, *(s for s in schema.one_of or [] if isinstance(s, Schema))]
