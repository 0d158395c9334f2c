"""Reading the bytes email providers post: form bodies, MIME messages, header blocks and HTML.

Thin, defensive wrappers over the ``multipart`` library and the stdlib ``email`` package; the
provider modules decide what the fields mean.
"""

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.errors import MessageError
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from html.parser import HTMLParser
from urllib.parse import parse_qsl

from multipart import MultipartError, MultipartParser, parse_options_header

from ingest.webhooks.channels.base import Headers, ParseError

#: Limits of the multipart parser, raised to fit a 30 MiB email (the route refuses bigger
#: bodies). Everything stays in memory: the body already is, and adapters do no I/O.
_MAX_BODY_BYTES = 32 * 1024 * 1024
_MAX_PARTS = 2048
_MAX_PART_HEADERS = 32
_MAX_PART_HEADER_BYTES = 64 * 1024
#: MIME nesting deeper than this is not followed when listing attachments.
_MAX_MIME_DEPTH = 16
#: Exceptions the lazy header parsing of ``email.policy.default`` can raise on hostile input.
_HEADER_ERRORS = (MessageError, ValueError, TypeError, IndexError, AttributeError, LookupError)


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentMeta:
    """An attached file: what is known about it, and its bytes when the payload holds them
    (they travel to the media worker on the media topic)."""

    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None
    content: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class FormField:
    """One field of a form body; a file upload has a ``filename``."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None
    charset: str | None = None

    def text(self, charset: str | None = None) -> str:
        """The value decoded with ``charset``, the part's own charset, or UTF-8; never raises."""
        for candidate in (charset, self.charset):
            if candidate:
                try:
                    codecs.lookup(candidate)
                except LookupError:
                    continue
                return self.data.decode(candidate, errors="replace")
        return self.data.decode("utf-8", errors="replace")


class Form:
    """The fields of a ``multipart/form-data`` or urlencoded body, in the order sent."""

    def __init__(self, fields: list[FormField]) -> None:
        self.fields = fields

    def field(self, name: str) -> FormField | None:
        """The first field called ``name``."""
        return next((item for item in self.fields if item.name == name), None)

    def get(self, name: str, charset: str | None = None) -> str | None:
        """The first value called ``name`` as text, or None."""
        found = self.field(name)
        return None if found is None else found.text(charset)


def read_form(raw: bytes, headers: Headers) -> Form:
    """Parse a form body by its ``content-type``; raises ParseError when it cannot be read."""
    content_type = _header_message(headers.get("content-type", ""))
    kind = content_type.get_content_type()
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError) as error:
            raise ParseError(f"form body is not valid: {error}") from error
        return Form([FormField(name=name, data=value.encode()) for name, value in pairs])
    if kind != "multipart/form-data":
        raise ParseError(f"expected a form body, got content type {kind!r}")
    boundary = content_type.get_boundary()
    if not boundary:
        raise ParseError("multipart body without a boundary")
    return Form(list(_multipart_fields(raw, boundary)))


def _multipart_fields(raw: bytes, boundary: str) -> Iterator[FormField]:
    parser = MultipartParser(
        io.BytesIO(raw),
        boundary,
        content_length=len(raw),
        header_limit=_MAX_PART_HEADERS,
        headersize_limit=_MAX_PART_HEADER_BYTES,
        part_limit=_MAX_PARTS,
        spool_limit=_MAX_BODY_BYTES,
        memory_limit=_MAX_BODY_BYTES,
    )
    try:
        for part in parser:
            declared = part.headers.get("Content-Type")
            mime = parse_options_header(declared)[0].lower() if declared else None
            yield FormField(
                name=part.name or "",
                data=part.raw,
                filename=part.filename or None,
                content_type=mime or None,
                charset=part.charset if declared else None,
            )
    except (MultipartError, UnicodeDecodeError) as error:
        raise ParseError(f"multipart body is not valid: {error}") from error


def _header_message(content_type: str) -> Message:
    """A message holding only ``content-type``, for the stdlib's parameter parsing."""
    message = Message()
    message["content-type"] = content_type
    return message


def parse_message(raw: bytes) -> EmailMessage:
    """A whole RFC 5322 message; the parser never raises, defects are recorded on the message."""
    return BytesParser(policy=policy.default, _class=EmailMessage).parsebytes(raw)


def parse_message_headers(raw: bytes) -> EmailMessage:
    """Only the header section of a whole message, for routing before a full parse; its
    headers read exactly as ``parse_message``'s do."""
    parser = BytesParser(policy=policy.default, _class=EmailMessage)
    return parser.parsebytes(raw, headersonly=True)


def parse_header_block(text: str) -> EmailMessage:
    """A block of ``Name: value`` header lines (SendGrid's ``headers`` field)."""
    return Parser(policy=policy.default, _class=EmailMessage).parsestr(text, headersonly=True)


def header(message: Message, name: str) -> str | None:
    """The first ``name`` header as text, or None when absent or unreadable."""
    try:
        value = message.get(name)
        return None if value is None else str(value).strip() or None
    except _HEADER_ERRORS:
        return None


def header_values(message: Message, name: str) -> list[str]:
    """Every ``name`` header as text (``To`` and ``Cc`` may repeat)."""
    try:
        return [str(value) for value in message.get_all(name, [])]
    except _HEADER_ERRORS:
        return []


def body_text(message: EmailMessage, subtype: str) -> str | None:
    """The preferred ``text/<subtype>`` body, decoded, or None."""
    try:
        part = message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_type() != f"text/{subtype}":
            return None
        content = part.get_content()
    except (*_HEADER_ERRORS, KeyError):
        return None
    return content if isinstance(content, str) else None


def attachments(message: Message, depth: int = 0) -> list[AttachmentMeta]:
    """Metadata of every attachment, not descending into attached messages."""
    found: list[AttachmentMeta] = []
    if depth > _MAX_MIME_DEPTH:
        return found
    for part in _subparts(message):
        try:
            filename = part.get_filename()
            attached = part.get_content_disposition() == "attachment" or filename is not None
        except _HEADER_ERRORS:
            filename, attached = None, True
        if attached:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else None
            found.append(
                AttachmentMeta(
                    filename=filename,
                    mime_type=part.get_content_type(),
                    size=len(content) if content is not None else None,
                    content=content,
                )
            )
        elif part.is_multipart():
            found.extend(attachments(part, depth + 1))
    return found


def _subparts(message: Message) -> list[Message]:
    payload = message.get_payload() if message.is_multipart() else None
    return [part for part in payload if isinstance(part, Message)] if payload else []


class _TextCollector(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "head", "title"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BREAKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str | None) -> str | None:
    """The visible text of an HTML body, one line per block, for emails without a text part."""
    if not html:
        return None
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.chunks).splitlines())
    text = "\n".join(line for line in lines if line)
    return text or None
