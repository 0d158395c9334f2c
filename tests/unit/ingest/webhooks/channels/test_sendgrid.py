"""SendGrid Inbound Parse: parsed mode, raw MIME mode and the captured request."""

import json
from datetime import UTC, datetime

import pytest

from contracts import Channel, Direction, MessageEvent, TenantDirectory, message_event_id
from ingest.webhooks.channels import sendgrid
from ingest.webhooks.channels.base import ParseError
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import (
    RECEIVED_AT,
    make_context,
    multipart_body,
    split_capture,
    to_crlf,
)

SAMPLE_HEADERS = {"content-type": "multipart/form-data; boundary=xYzZY"}


def sample(name: str) -> bytes:
    """A SendGrid SDK sample body, with the CRLF line endings real posts use."""
    return to_crlf(provider_fixture(name))


def parse_one(raw: bytes, headers: dict[str, str], tenants: TenantDirectory) -> MessageEvent:
    result = sendgrid.parse(raw, headers, make_context(tenants=tenants))
    assert result.problems == []
    assert len(result.events) == 1
    event = result.events[0]
    assert isinstance(event, MessageEvent)
    return event


def parsed_post(**fields: str) -> tuple[dict[str, str], bytes]:
    """A parsed-mode post from a customer to acme, with ``fields`` replaced."""
    values = {
        "headers": "From: Ann <ann@customer.example>\r\nTo: inbound@inbound.example.com\r\n"
        "Message-ID: <sg-1@customer.example>\r\nDate: Tue, 07 May 2024 10:00:00 +0000\r\n",
        "from": "Ann <ann@customer.example>",
        "to": "inbound@inbound.example.com",
        "subject": "Hello",
        "text": "Body text",
        "envelope": '{"to":["inbound@inbound.example.com"],"from":"ann@customer.example"}',
    }
    values.update(fields)
    return multipart_body([(name, value, None, None) for name, value in values.items()])


def test_sdk_parsed_sample(tenants: TenantDirectory) -> None:
    """The SDK's parsed sample routes to acme; without Message-ID it gets the hash id."""
    event = parse_one(sample("sendgrid_inbound_parse.txt"), SAMPLE_HEADERS, tenants)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.EMAIL
    assert event.provider == "sendgrid"
    assert event.direction is Direction.INBOUND
    assert event.participant.channel_user_id == "test@example.com"
    assert event.participant.display_name == "Example User"
    assert event.business.channel_account_id == "inbound@inbound.example.com"
    assert event.content.subject == "Testing non-raw"
    assert event.content.text == "Hello Twilio SendGrid!"
    assert event.content.attachments == []
    assert event.occurred_at == datetime(2016, 8, 11, 1, 10, 13, tzinfo=UTC)
    assert event.provider_message_id.startswith("sha256:")
    assert event.event_id == message_event_id("email", "sendgrid", event.provider_message_id)
    assert event.references == []


def test_sdk_parsed_sample_is_stable(tenants: TenantDirectory) -> None:
    """The hash fallback makes the same post the same event."""
    raw = sample("sendgrid_inbound_parse.txt")
    assert parse_one(raw, SAMPLE_HEADERS, tenants).event_id == (
        parse_one(raw, SAMPLE_HEADERS, tenants).event_id
    )


def test_sdk_raw_sample(tenants: TenantDirectory) -> None:
    """Raw mode reads sender, subject, date and text from the MIME in the ``email`` field."""
    event = parse_one(sample("sendgrid_inbound_parse_raw.txt"), SAMPLE_HEADERS, tenants)
    assert event.tenant_id == "acme"
    assert event.business.channel_account_id == "inbound@inbound.inbound.com"
    assert event.participant.channel_user_id == "test@example.com"
    assert event.content.subject == "Inbound Parse Test Raw Data"
    assert event.content.text == "Hello Twilio SendGrid!"
    assert event.occurred_at == datetime(2016, 8, 10, 21, 44, 21, tzinfo=UTC)
    assert event.provider_message_id.startswith("sha256:")


def test_captured_request(tenants: TenantDirectory) -> None:
    """The captured post: Message-Id from the headers field, four attachments in order."""
    headers, raw = split_capture(provider_fixture("sendgrid_inbound_parse_captured.http"))
    event = parse_one(raw, headers, tenants)
    assert event.tenant_id == "acme"
    assert event.provider_message_id == "D0AB77C1-A89D-4D9E-A207-5E20A6D36BEF@opennorth.ca"
    assert event.participant.channel_user_id == "james@opennorth.ca"
    assert event.participant.display_name == "James McKinney"
    assert event.business.channel_account_id == "foo@parolecitoyenne.com"
    assert event.occurred_at == datetime(2013, 4, 16, 0, 20, 12, tzinfo=UTC)
    assert event.received_at == RECEIVED_AT
    assert event.content.subject == "Test"
    assert event.content.text is not None
    assert event.content.text.startswith("bold text\n\n\n\nsome more bold text")
    assert event.content.text.endswith("--\nSignature block")
    assert [(a.filename, a.mime_type, a.size) for a in event.content.attachments] == [
        ("foo.txt", "text/plain", 58),
        ("msg-12415-313.html", "text/html", 243),
        ("bar.txt", "text/plain", 39),
        ("msg-12415-314.html", "text/html", 642),
    ]
    assert event.email is not None
    assert event.email.message_id == "D0AB77C1-A89D-4D9E-A207-5E20A6D36BEF@opennorth.ca"
    assert event.references == ["bar"]


def test_threading_headers_from_headers_field(tenants: TenantDirectory) -> None:
    """In-Reply-To and References come from the raw header block."""
    block = (
        "From: Ann <ann@customer.example>\r\nMessage-ID: <sg-2@customer.example>\r\n"
        "In-Reply-To: <out-1@acme.example>\r\n"
        "References: <out-0@acme.example>\r\n <out-1@acme.example>\r\n"
    )
    headers, raw = parsed_post(headers=block)
    event = parse_one(raw, headers, tenants)
    assert event.provider_message_id == "sg-2@customer.example"
    assert event.email is not None
    assert event.email.in_reply_to == "out-1@acme.example"
    assert event.email.references == ["out-0@acme.example", "out-1@acme.example"]


def test_charsets_decode_fields(tenants: TenantDirectory) -> None:
    """A field sent in ISO-8859-1 is decoded with the charset SendGrid names."""
    headers, raw = multipart_body(
        [
            ("from", "Ann <ann@customer.example>", None, None),
            ("to", "inbound@inbound.example.com", None, None),
            ("subject", "Caf\xe9".encode("latin-1"), None, None),
            ("text", "cr\xe8me".encode("latin-1"), None, None),
            ("charsets", json.dumps({"subject": "iso-8859-1", "text": "iso-8859-1"}), None, None),
        ]
    )
    event = parse_one(raw, headers, tenants)
    assert event.content.subject == "Café"
    assert event.content.text == "crème"


def test_routes_by_envelope(tenants: TenantDirectory) -> None:
    """A blind-copied tenant address in the envelope routes the email."""
    headers, raw = parsed_post(to="friend@elsewhere.example")
    event = parse_one(raw, headers, tenants)
    assert event.tenant_id == "acme"
    assert event.business.channel_account_id == "inbound@inbound.example.com"


def test_attachment_info_without_file_part(tenants: TenantDirectory) -> None:
    """An attachment only described in attachment-info keeps its name and type, no size."""
    info = json.dumps({"attachment1": {"filename": "a.pdf", "type": "application/pdf"}})
    headers, raw = parsed_post(**{"attachments": "1", "attachment-info": info})
    event = parse_one(raw, headers, tenants)
    assert [(a.filename, a.mime_type, a.size) for a in event.content.attachments] == [
        ("a.pdf", "application/pdf", None)
    ]


def test_html_only(tenants: TenantDirectory) -> None:
    """Without a text part the HTML's text is used."""
    headers, raw = parsed_post(text="", html="<p>Only <i>html</i></p>")
    assert parse_one(raw, headers, tenants).content.text == "Only html"


def test_no_known_recipient_is_a_problem(tenants: TenantDirectory) -> None:
    """An email for no tenant yields a problem and no event."""
    headers, raw = parsed_post(to="x@nowhere.example", envelope='{"to":["x@nowhere.example"]}')
    result = sendgrid.parse(raw, headers, make_context(tenants=tenants))
    assert result.events == []
    assert len(result.problems) == 1


def test_malformed_json_fields_are_ignored(tenants: TenantDirectory) -> None:
    """Broken envelope, charsets or attachment-info JSON does not fail the email."""
    headers, raw = parsed_post(
        envelope="{broken", charsets="[1]", **{"attachment-info": "nope", "attachments": "2"}
    )
    assert parse_one(raw, headers, tenants).tenant_id == "acme"


def test_missing_content_type_is_a_parse_error(tenants: TenantDirectory) -> None:
    """Without a multipart content type the body cannot be read."""
    with pytest.raises(ParseError):
        sendgrid.parse(sample("sendgrid_inbound_parse.txt"), {}, make_context(tenants=tenants))
