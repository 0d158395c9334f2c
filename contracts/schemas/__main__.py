"""Regenerate the JSON Schema files: ``python -m contracts.schemas``."""

from contracts.schemas import SCHEMA_DIR, expected_files

for filename, text in expected_files().items():
    (SCHEMA_DIR / filename).write_text(text, encoding="utf-8")
    print(f"wrote contracts/schemas/{filename}")
