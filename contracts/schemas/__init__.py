"""JSON Schema files generated from the contract models (``python -m contracts.schemas``)."""

import json
from pathlib import Path

from pydantic import BaseModel

SCHEMA_DIR = Path(__file__).parent


def schema_filename(schema_name: str) -> str:
    """``chat.message/1`` is written to ``chat.message.v1.json``."""
    name, _, version = schema_name.partition("/")
    return f"{name}.v{version}.json"


def render(schema_name: str, model: type[BaseModel]) -> str:
    """The JSON Schema text for ``model``, stable across runs."""
    schema = model.model_json_schema(mode="serialization")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://threadline.dev/schemas/{schema_filename(schema_name)}",
        "x-schema-header": schema_name,
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """File name to content, for every versioned contract."""
    from contracts import SCHEMAS

    return {schema_filename(name): render(name, model) for name, model in SCHEMAS.items()}
