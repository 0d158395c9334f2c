"""HTTP wiring only: each module turns requests into calls on the ingestion service."""
