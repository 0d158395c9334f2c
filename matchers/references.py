"""Booking references found in a message's text, subject or plus-addressed recipient."""

import re
from collections.abc import Iterable

from matchers.emails import plus_tag


def extract_references(
    texts: Iterable[str | None],
    pattern: re.Pattern[str] | None,
    addresses: Iterable[str] = (),
) -> list[str]:
    """Every reference, once, in the order found.

    ``pattern`` is the tenant's ``reference_pattern``; ``addresses`` are recipient addresses
    whose ``+tag`` (``bookings+ABC-123456@acme.example``) is a reference.
    """
    found: dict[str, None] = {}
    if pattern is not None:
        for text in texts:
            if text:
                for match in pattern.finditer(text):
                    found.setdefault(match.group(0), None)
    for address in addresses:
        tag = plus_tag(address)
        if tag:
            found.setdefault(tag, None)
    return list(found)
