"""Email addresses: trimmed, lower case, display name removed."""

from email.utils import getaddresses, parseaddr


def normalise_email(raw: str) -> str | None:
    """``"Ann <Ann@Example.COM>"`` becomes ``ann@example.com``; None when no address is found."""
    _, address = parseaddr(raw.strip())
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or " " in address:
        return None
    return address


def parse_mailbox(raw: str) -> tuple[str | None, str | None]:
    """The display name and normalised address of one mailbox header value."""
    name, _ = parseaddr(raw.strip())
    return (name.strip() or None), normalise_email(raw)


def address_list(*headers: str | None) -> list[str]:
    """Every normalised address in ``To``/``Cc``-style header values, in order, once each."""
    seen: dict[str, None] = {}
    values = [header for header in headers if header]
    for _, address in getaddresses(values):
        normalised = normalise_email(address)
        if normalised is not None:
            seen.setdefault(normalised, None)
    return list(seen)


def plus_tag(address: str) -> str | None:
    """The ``tag`` of ``local+tag@domain``, or None."""
    local = address.rpartition("@")[0]
    _, plus, tag = local.partition("+")
    return tag if plus and tag else None
