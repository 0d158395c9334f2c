"""Shared email logic: Basic auth, routing, the MessageEvent, MIME, forms and HTML text."""

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import pytest

from contracts import (
    AttachmentKind,
    Channel,
    ContentType,
    Direction,
    MessageEvent,
    Provider,
    TenantDirectory,
    message_event_id,
    parse_tenants,
)
from ingest.webhooks.channels import mailgun, postmark, sendgrid
from ingest.webhooks.channels.base import ParseError, Parser
from ingest.webhooks.channels.email import (
    AttachmentMeta,
    InboundEmail,
    attachment_kind,
    from_mime,
    recipient_tenants,
    to_result,
    verify_basic_auth,
)
from ingest.webhooks.channels.email_parsing import (
    html_to_text,
    parse_message,
    parse_message_headers,
    read_form,
)
from tests.unit.ingest.webhooks.channels.adapter_helpers import (
    RECEIVED_AT,
    make_context,
    multipart_body,
)

TENANTS = """
[[tenants]]
id = "acme"
name = "Acme Tours"
reference_pattern = '\\b[A-Z]{3}-\\d{6}\\b'
email_addresses = ["bookings@acme.example", "@mail.acme.example"]

[[tenants]]
id = "globex"
name = "Globex"
email_addresses = ["desk@globex.example"]
"""


@pytest.fixture(scope="module")
def directory() -> TenantDirectory:
    return parse_tenants(TENANTS, environ={})


def inbound_email(**fields: Any) -> InboundEmail:
    """A customer's email to acme's bookings address, with ``fields`` replaced."""
    default = InboundEmail(
        sender="Ann Smith <Ann@Customer.example>",
        to=["Acme Bookings <bookings@acme.example>"],
        subject="Question",
        text="Hello there",
        message_id="<m1@customer.example>",
        date="Tue, 07 May 2024 10:00:00 +0200",
    )
    return replace(default, **fields)


def only_event(mail: InboundEmail, directory: TenantDirectory) -> MessageEvent:
    result = to_result(mail, provider=Provider.POSTMARK, context=make_context(tenants=directory))
    assert result.problems == []
    assert len(result.events) == 1
    event = result.events[0]
    assert isinstance(event, MessageEvent)
    return event


def basic(credentials: bytes) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(credentials).decode()}


# --- Basic auth ---------------------------------------------------------------------------


def test_basic_auth_right_credentials() -> None:
    """The configured user:password is accepted, the scheme in any case."""
    assert verify_basic_auth(basic(b"inbound:parse-secret"), "inbound:parse-secret")
    header = basic(b"inbound:parse-secret")["authorization"].replace("Basic", "basic")
    assert verify_basic_auth({"authorization": header}, "inbound:parse-secret")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(basic(b"inbound:wrong"), id="wrong-password"),
        pytest.param(basic(b"other:parse-secret"), id="wrong-user"),
        pytest.param(basic(b"inbound:parse-secret:"), id="longer"),
        pytest.param({"authorization": "Basic !!!not-base64!!!"}, id="malformed-base64"),
        pytest.param({"authorization": "Basic"}, id="no-token"),
        pytest.param({"authorization": "Bearer aW5ib3VuZDpwYXJzZS1zZWNyZXQ="}, id="bearer"),
        pytest.param({}, id="missing"),
    ],
)
def test_basic_auth_refused(headers: dict[str, str]) -> None:
    """Wrong, malformed, other-scheme or missing credentials are refused without raising."""
    assert not verify_basic_auth(headers, "inbound:parse-secret")


# --- routing and the event ----------------------------------------------------------------


def test_inbound_email_event(directory: TenantDirectory) -> None:
    """A customer's email becomes an inbound email MessageEvent for the recipient's tenant."""
    event = only_event(inbound_email(), directory)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.EMAIL
    assert event.provider == "postmark"
    assert event.direction is Direction.INBOUND
    assert event.provider_message_id == "m1@customer.example"
    assert event.event_id == message_event_id("email", "postmark", "m1@customer.example")
    assert event.participant.channel_user_id == "ann@customer.example"
    assert event.participant.email == "ann@customer.example"
    assert event.participant.display_name == "Ann Smith"
    assert event.business.channel_account_id == "bookings@acme.example"
    assert event.content.type is ContentType.EMAIL
    assert event.content.subject == "Question"
    assert event.content.text == "Hello there"
    assert event.occurred_at == datetime(2024, 5, 7, 8, 0, tzinfo=UTC)
    assert event.received_at == RECEIVED_AT
    assert event.email is not None
    assert event.email.message_id == "m1@customer.example"


def test_plus_address_is_a_reference(directory: TenantDirectory) -> None:
    """``bookings+ABC-123456@`` routes to bookings@ and yields the reference ABC-123456."""
    event = only_event(inbound_email(to=["bookings+ABC-123456@acme.example"]), directory)
    assert event.tenant_id == "acme"
    assert event.business.channel_account_id == "bookings@acme.example"
    assert event.references == ["ABC-123456"]


def test_references_from_subject_and_text(directory: TenantDirectory) -> None:
    """The tenant's pattern finds codes in subject and text, each once."""
    mail = inbound_email(subject="Re: XYZ-000001", text="see XYZ-000001 and QRS-222222")
    assert only_event(mail, directory).references == ["XYZ-000001", "QRS-222222"]


def test_no_known_recipient_is_a_problem(directory: TenantDirectory) -> None:
    """An email to nobody we know yields a problem naming the recipients and no event."""
    mail = inbound_email(to=["someone@else.example"], cc=["other@else.example"])
    result = to_result(mail, provider=Provider.SENDGRID, context=make_context(tenants=directory))
    assert result.events == []
    assert result.problems == [
        "no email recipient belongs to a tenant "
        "(recipients: someone@else.example, other@else.example)"
    ]


def test_routes_by_cc_then_envelope(directory: TenantDirectory) -> None:
    """When To is foreign, Cc routes; when both are, the envelope recipient does."""
    by_cc = only_event(inbound_email(to=["x@else.example"], cc=["desk@globex.example"]), directory)
    assert by_cc.tenant_id == "globex"
    mail = inbound_email(to=["x@else.example"], envelope_to=["someone@mail.acme.example"])
    by_envelope = only_event(mail, directory)
    assert by_envelope.tenant_id == "acme"
    assert by_envelope.business.channel_account_id == "someone@mail.acme.example"


def test_business_sender_is_outbound(directory: TenantDirectory) -> None:
    """An email from the tenant's own address is outbound, the customer is the recipient."""
    mail = inbound_email(
        sender="Acme <bookings@acme.example>",
        to=["Ann Smith <ann@customer.example>"],
        cc=["bookings+ABC-123456@acme.example"],
    )
    event = only_event(mail, directory)
    assert event.direction is Direction.OUTBOUND
    assert event.participant.channel_user_id == "ann@customer.example"
    assert event.participant.display_name == "Ann Smith"
    assert event.business.channel_account_id == "bookings@acme.example"
    assert event.references == ["ABC-123456"]


def test_business_writing_only_to_itself_is_a_problem(directory: TenantDirectory) -> None:
    """An outbound email with no customer recipient cannot name a participant."""
    mail = inbound_email(sender="bookings@acme.example", to=["x@mail.acme.example"])
    result = to_result(mail, provider=Provider.MAILGUN, context=make_context(tenants=directory))
    assert result.events == []
    assert len(result.problems) == 1


def test_missing_sender_is_a_parse_error(directory: TenantDirectory) -> None:
    """An email without a usable From address cannot be normalised."""
    context = make_context(tenants=directory)
    for sender in (None, "", "not an address"):
        with pytest.raises(ParseError):
            to_result(inbound_email(sender=sender), provider=Provider.MAILGUN, context=context)


def test_missing_message_id_uses_deterministic_fallback(directory: TenantDirectory) -> None:
    """Without Message-ID the id is sha256 of sender, date, subject and text, stable per email."""
    first = only_event(inbound_email(message_id=None), directory)
    again = only_event(inbound_email(message_id=None), directory)
    other = only_event(inbound_email(message_id=None, text="Different"), directory)
    assert first.provider_message_id.startswith("sha256:")
    assert len(first.provider_message_id) == len("sha256:") + 64
    assert first.event_id == again.event_id
    assert other.provider_message_id != first.provider_message_id
    assert first.email is not None
    assert first.email.message_id == first.provider_message_id


def test_provider_id_is_used_before_the_hash(directory: TenantDirectory) -> None:
    """A provider's own id stands in for a missing Message-ID before the hash fallback."""
    event = only_event(inbound_email(message_id=None, provider_id="pm-uuid"), directory)
    assert event.provider_message_id == "pm-uuid"


def test_threading_headers_lose_their_brackets(directory: TenantDirectory) -> None:
    """In-Reply-To and References are kept without angle brackets, in order."""
    mail = inbound_email(in_reply_to="<a@x>", references="<r1@x>\r\n <r2@x> <a@x>")
    event = only_event(mail, directory)
    assert event.email is not None
    assert event.email.in_reply_to == "a@x"
    assert event.email.references == ["r1@x", "r2@x", "a@x"]


def test_in_reply_to_is_the_reply_target(directory: TenantDirectory) -> None:
    """In-Reply-To (its first id, brackets removed) is the message the email answers; an email
    without one answers none."""
    reply = only_event(inbound_email(in_reply_to=" <a@x> <b@x>"), directory)
    assert reply.content.reply_to_provider_message_id == "a@x"
    assert only_event(inbound_email(), directory).content.reply_to_provider_message_id is None


def mailgun_reply() -> tuple[dict[str, str], bytes]:
    headers = [
        ["From", "Ann <ann@customer.example>"],
        ["To", "bookings@acme.example"],
        ["Message-Id", "<r1@customer.example>"],
        ["In-Reply-To", "<out-1@acme.example>"],
    ]
    body = urlencode(
        {
            "recipient": "bookings@acme.example",
            "from": "Ann <ann@customer.example>",
            "body-plain": "Yes",
            "message-headers": json.dumps(headers),
        }
    ).encode()
    return {"content-type": "application/x-www-form-urlencoded"}, body


def sendgrid_reply() -> tuple[dict[str, str], bytes]:
    block = (
        "From: Ann <ann@customer.example>\r\nTo: bookings@acme.example\r\n"
        "Message-ID: <r1@customer.example>\r\nIn-Reply-To: <out-1@acme.example>\r\n"
    )
    return multipart_body(
        [
            ("headers", block, None, None),
            ("from", "Ann <ann@customer.example>", None, None),
            ("to", "bookings@acme.example", None, None),
            ("text", "Yes", None, None),
        ]
    )


def postmark_reply() -> tuple[dict[str, str], bytes]:
    payload = {
        "FromFull": {"Email": "ann@customer.example", "Name": "Ann"},
        "ToFull": [{"Email": "bookings@acme.example", "Name": ""}],
        "TextBody": "Yes",
        "Date": "Tue, 7 May 2024 10:00:00 +0000",
        "Headers": [
            {"Name": "Message-ID", "Value": "<r1@customer.example>"},
            {"Name": "In-Reply-To", "Value": "<out-1@acme.example>"},
        ],
    }
    return {"content-type": "application/json"}, json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("parse", "request_of"),
    [
        pytest.param(mailgun.parse, mailgun_reply, id="mailgun"),
        pytest.param(sendgrid.parse, sendgrid_reply, id="sendgrid"),
        pytest.param(postmark.parse, postmark_reply, id="postmark"),
    ],
)
def test_every_provider_keeps_in_reply_to_as_the_reply_target(
    directory: TenantDirectory,
    parse: Parser,
    request_of: Callable[[], tuple[dict[str, str], bytes]],
) -> None:
    """Mailgun, SendGrid and Postmark alike: In-Reply-To is the reply target and stays in the
    email headers."""
    headers, body = request_of()
    [event] = parse(body, headers, make_context(tenants=directory)).events
    assert isinstance(event, MessageEvent)
    assert event.content.reply_to_provider_message_id == "out-1@acme.example"
    assert event.email is not None
    assert event.email.in_reply_to == "out-1@acme.example"


def test_recipient_tenants_in_routing_order(directory: TenantDirectory) -> None:
    """Tenants of To, Cc, then envelope recipients, once each, plus tags ignored."""
    mail = inbound_email(
        to=["someone@else.example", "desk@globex.example"],
        cc=["x@mail.acme.example"],
        envelope_to=["bookings+ABC-123456@acme.example", "DESK@globex.example"],
    )
    assert [tenant.id for tenant in recipient_tenants(mail, directory)] == ["globex", "acme"]
    assert recipient_tenants(inbound_email(to=["a@nowhere.example"]), directory) == []
    routed = only_event(mail, directory)
    assert routed.tenant_id == recipient_tenants(mail, directory)[0].id


def test_stripped_reply_is_preferred(directory: TenantDirectory) -> None:
    """The provider's reply-without-history replaces the full text."""
    mail = inbound_email(text="Yes\r\n\r\n> old quoted text", stripped_text="Yes")
    assert only_event(mail, directory).content.text == "Yes"


def test_html_only_email_gets_text(directory: TenantDirectory) -> None:
    """An email with only HTML gets its visible text."""
    mail = inbound_email(text=None, html="<html><body><p>Hi <b>there</b></p><p>Bye</p></body>")
    assert only_event(mail, directory).content.text == "Hi there\nBye"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 15 Apr 2013 20:20:12 -0400", datetime(2013, 4, 16, 0, 20, 12, tzinfo=UTC)),
        ("Mon, 15 Apr 2013 20:20:12 -0000", datetime(2013, 4, 15, 20, 20, 12, tzinfo=UTC)),
        ("yesterday-ish", RECEIVED_AT),
        (None, RECEIVED_AT),
    ],
)
def test_occurred_at_from_date_header(
    directory: TenantDirectory, date: str | None, expected: datetime
) -> None:
    """The Date header in UTC (naive read as UTC); unreadable or absent: the arrival time."""
    assert only_event(inbound_email(date=date), directory).occurred_at == expected


def test_attachments_metadata_only(directory: TenantDirectory) -> None:
    """Attachments keep name, type and size; the kind follows the MIME major type."""
    mail = inbound_email(
        attachments=[
            AttachmentMeta(filename="a.png", mime_type="image/png", size=10),
            AttachmentMeta(filename="b.pdf", mime_type="application/pdf", size=20),
            AttachmentMeta(filename="c", mime_type=None, size=-1),
        ]
    )
    items = only_event(mail, directory).content.attachments
    assert [(item.kind, item.filename, item.size) for item in items] == [
        (AttachmentKind.IMAGE, "a.png", 10),
        (AttachmentKind.DOCUMENT, "b.pdf", 20),
        (AttachmentKind.DOCUMENT, "c", None),
    ]


@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("audio/ogg", AttachmentKind.AUDIO),
        ("VIDEO/mp4", AttachmentKind.VIDEO),
        ("text/calendar", AttachmentKind.DOCUMENT),
    ],
)
def test_attachment_kind(mime: str, kind: AttachmentKind) -> None:
    """Media major types map to their kind, anything else to document."""
    assert attachment_kind(mime) is kind


# --- MIME, forms and HTML -----------------------------------------------------------------


def test_from_mime_reads_headers_bodies_and_attachments() -> None:
    """A multipart MIME message gives headers, text, HTML and attachment metadata."""
    message = EmailMessage()
    message["From"] = "=?utf-8?q?Zo=C3=AB?= <zoe@customer.example>"
    message["To"] = "bookings@acme.example"
    message["Subject"] = "=?utf-8?q?Caf=C3=A9?="
    message["Message-ID"] = "<mime-1@customer.example>"
    message["In-Reply-To"] = "<prev@acme.example>"
    message["Date"] = "Tue, 07 May 2024 10:00:00 +0000"
    message.set_content("plain body")
    message.add_alternative("<p>html body</p>", subtype="html")
    message.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="pic.png")
    mail = from_mime(message.as_bytes())
    assert mail.sender == "Zoë <zoe@customer.example>"
    assert mail.subject == "Café"
    assert mail.text is not None
    assert mail.text.strip() == "plain body"
    assert mail.html is not None
    assert "html body" in mail.html
    assert mail.message_id == "<mime-1@customer.example>"
    assert mail.in_reply_to == "<prev@acme.example>"
    assert mail.attachments == [
        AttachmentMeta(filename="pic.png", mime_type="image/png", size=8, content=b"\x89PNG....")
    ]


def test_parse_message_headers_reads_headers_as_the_full_parse_does() -> None:
    """The headers-only parse gives the full parse's header values and leaves the body
    unparsed."""
    message = EmailMessage()
    message["From"] = "a@b.example"
    message["To"] = "=?utf-8?q?Zo=C3=AB?= <zoe@acme.example>, bookings@acme.example"
    message["Cc"] = "c@d.example"
    message.set_content("text")
    message.add_attachment(b"x", maintype="application", subtype="pdf", filename="a.pdf")
    raw = message.as_bytes()
    headers_only, full = parse_message_headers(raw), parse_message(raw)
    for name in ("From", "To", "Cc"):
        assert str(headers_only[name]) == str(full[name])
    assert isinstance(headers_only.get_payload(), str)
    assert full.is_multipart()


def test_from_mime_does_not_count_parts_of_attached_messages() -> None:
    """A forwarded message is one attachment, its own parts are not listed."""
    inner = EmailMessage()
    inner["Subject"] = "inner"
    inner.set_content("inner text")
    inner.add_attachment(b"x", maintype="application", subtype="pdf", filename="inner.pdf")
    outer = EmailMessage()
    outer["From"] = "a@b.example"
    outer.set_content("outer text")
    outer.add_attachment(inner)
    mail = from_mime(outer.as_bytes())
    assert [item.mime_type for item in mail.attachments] == ["message/rfc822"]
    assert mail.text is not None
    assert mail.text.strip() == "outer text"


def test_from_mime_survives_garbage() -> None:
    """Bytes that are no email give an empty InboundEmail rather than an exception."""
    mail = from_mime(b"\x00\xff garbage without headers")
    assert mail.sender is None
    assert mail.message_id is None


def test_read_form_urlencoded() -> None:
    """An urlencoded body keeps blank values and repeated names in order."""
    form = read_form(
        b"a=1&b=&a=2", {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    )
    assert [(field.name, field.text()) for field in form.fields] == [
        ("a", "1"),
        ("b", ""),
        ("a", "2"),
    ]
    assert form.get("a") == "1"
    assert form.get("missing") is None


def test_read_form_multipart_boundary_from_header() -> None:
    """A quoted boundary parameter is read by the stdlib and files keep name and type."""
    headers, body = multipart_body(
        [("f", "v", None, None), ("file", b"\x00\x01", "x.bin", "application/octet-stream")],
        boundary="a b",
    )
    headers["content-type"] = 'multipart/form-data; boundary="a b"'
    form = read_form(body, headers)
    assert form.get("f") == "v"
    upload = form.field("file")
    assert upload is not None
    assert (upload.filename, upload.content_type, upload.data) == (
        "x.bin",
        "application/octet-stream",
        b"\x00\x01",
    )


def test_read_form_takes_an_email_sized_part() -> None:
    """A 25 MiB attachment fits within the raised parser limits."""
    big = b"x" * (25 * 1024 * 1024)
    headers, body = multipart_body([("attachment-1", big, "big.bin", "application/zip")])
    field = read_form(body, headers).field("attachment-1")
    assert field is not None
    assert len(field.data) == len(big)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("multipart/form-data", b"--x\r\n", id="no-boundary"),
        pytest.param("application/json", b"{}", id="not-a-form"),
        pytest.param("multipart/form-data; boundary=x", b"--x\r\nbroken", id="truncated"),
        pytest.param("application/x-www-form-urlencoded", b"a=\xff", id="not-utf8"),
    ],
)
def test_read_form_refuses_unreadable_bodies(content_type: str, body: bytes) -> None:
    """Bodies that are not a readable form raise ParseError."""
    with pytest.raises(ParseError):
        read_form(body, {"content-type": content_type})


def test_html_to_text_drops_markup_scripts_and_styles() -> None:
    """Tags, scripts and styles go; entities are decoded; blocks become lines."""
    html = (
        "<html><head><style>p{}</style><title>t</title></head><body>"
        "<script>alert(1)</script><div>Fish &amp; chips</div>line<br>two</body></html>"
    )
    assert html_to_text(html) == "Fish & chips\nline\ntwo"
    assert html_to_text("") is None
    assert html_to_text("<p> </p>") is None
