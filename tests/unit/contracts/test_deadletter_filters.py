"""The replay commands' ``--since`` and ``--reason`` filters."""

from datetime import UTC, datetime, timedelta

import pytest

from contracts.deadletter import matches, parse_since

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T08:00:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T09:00:00+01:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("PT2H", NOW - timedelta(hours=2)),
        ("P1D", NOW - timedelta(days=1)),
        ("90", NOW - timedelta(seconds=90)),
    ],
)
def test_since_is_a_moment_or_a_duration_ago(text: str, expected: datetime) -> None:
    """ISO times (naive ones in UTC) are taken as given; durations count back from now."""
    assert parse_since(text, now=NOW) == expected


def test_since_refuses_anything_else() -> None:
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_since("yesterday", now=NOW)


def test_reason_is_a_case_insensitive_substring_and_since_is_inclusive() -> None:
    check = matches("unknown TENANT", NOW)
    assert check("PoisonMessage: Unknown tenant 'initech'", NOW)
    assert not check("PoisonMessage: Unknown tenant 'initech'", NOW - timedelta(seconds=1))
    assert not check("invalid JSON", NOW)
    assert matches(None, None)("anything", datetime(2000, 1, 1, tzinfo=UTC))
