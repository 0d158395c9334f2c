"""Cursor tokens and search folding: pure helpers of the read API."""

import base64
import json
from datetime import UTC, datetime

import pytest

from domain.store.search import fold, grams, name_clause, name_fields
from ingest.api.cursors import Cursors
from ingest.errors import BadRequest

cursors = Cursors(b"a key of this test")


def tampered(cursor: str, **fields: str) -> str:
    """``cursor`` with ``fields`` changed and its signature kept."""
    payload, _, mac = cursor.partition(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = json.dumps({**decoded, **fields}).encode()
    return base64.urlsafe_b64encode(changed).decode().rstrip("=") + "." + mac


def test_cursor_round_trip() -> None:
    """What a cursor encodes comes back the same, times with their zone."""
    at = datetime(2026, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    token = cursors.encode({"snapshot": at, "at": at, "thread": "t1"})
    assert cursors.decode(token, times=("snapshot", "at"), texts=("thread",)) == {
        "snapshot": at,
        "at": at,
        "thread": "t1",
    }


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        cursors.encode({"at": "2026-05-01T12:00:00"}),
        cursors.encode({"x": 1}),
        # Made by another key, or edited after it was made: a forged snapshot of year 1.
        Cursors(b"another key").encode({"at": "2026-05-01T12:00:00+00:00"}),
        tampered(cursors.encode({"at": "2026-05-01T12:00:00+00:00"}), at="0001-01-01T00:00:00Z"),
    ],
)
def test_foreign_or_broken_cursor_is_400(token: str) -> None:
    """Anything this service did not make, was changed since, or carries a naive time is a
    400, not a 500."""
    with pytest.raises(BadRequest):
        cursors.decode(token, times=("at",), texts=())


def test_fold_removes_case_accents_and_extra_space() -> None:
    """Folding makes "  José  NÚÑEZ " and "jose nunez" the same text."""
    assert fold("  José  NÚÑEZ ") == "jose nunez"


def test_name_fields_and_clause_agree() -> None:
    """A name's stored trigrams contain every trigram of any part of it."""
    stored = name_fields("Ann-Marie O'Neil")
    clause = name_clause("MARIE")
    assert clause is not None
    assert set(clause["search_grams"]["$all"]) <= set(stored["search_grams"])
    assert grams("ab") == []
    assert name_clause("  ") is None
    assert name_clause("an") == {"search_words": {"$regex": "^an"}}
