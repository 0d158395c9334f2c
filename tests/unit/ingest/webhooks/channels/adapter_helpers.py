"""Shared by the Twilio and email adapter tests: a parse context and recorded HTTP requests."""

from datetime import UTC, datetime

from contracts import TenantDirectory
from ingest.webhooks.channels.base import ParseContext

RECEIVED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def make_context(*, tenants: TenantDirectory, received_at: datetime = RECEIVED_AT) -> ParseContext:
    """A parse context for ``tenants`` at a fixed arrival time."""
    return ParseContext(tenants=tenants, received_at=received_at)


def split_capture(raw: bytes) -> tuple[dict[str, str], bytes]:
    """Headers (lower-case names) and body of a recorded HTTP request (``*.http``).

    The first line is the recorder's status line, not a header, and is skipped. Captures
    use CRLF or LF; the body is returned byte for byte.
    """
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        head, body = raw[:crlf], raw[crlf + 4 :]
    else:
        head, body = raw[:lf], raw[lf + 2 :]
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines()[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def to_crlf(raw: bytes) -> bytes:
    """``raw`` with every line ending CRLF, as multipart bodies are sent."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def multipart_body(
    fields: list[tuple[str, str | bytes, str | None, str | None]], *, boundary: str = "b0und"
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a multipart/form-data post of (name, value, filename, content type)."""
    chunks: list[bytes] = []
    for name, value, filename, content_type in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        data = value.encode() if isinstance(value, str) else value
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return {"content-type": f"multipart/form-data; boundary={boundary}"}, body
