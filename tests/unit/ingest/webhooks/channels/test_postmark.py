"""Postmark inbound JSON: the doc example, the dashboard check payloads and a captured post."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import (
    AttachmentKind,
    Channel,
    Direction,
    MessageEvent,
    TenantDirectory,
    parse_tenants,
)
from ingest.webhooks.channels import postmark
from ingest.webhooks.channels.base import ParseError
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import (
    RECEIVED_AT,
    make_context,
    split_capture,
)


def parse_one(raw: bytes, tenants: TenantDirectory) -> MessageEvent:
    result = postmark.parse(
        raw, {"content-type": "application/json"}, make_context(tenants=tenants)
    )
    assert result.problems == []
    assert len(result.events) == 1
    event = result.events[0]
    assert isinstance(event, MessageEvent)
    return event


def postmark_payload(**fields: Any) -> bytes:
    """A minimal inbound post from a customer to acme, with ``fields`` replaced (None removes)."""
    payload: dict[str, Any] = {
        "From": "ann@customer.example",
        "FromFull": {"Email": "ann@customer.example", "Name": "Ann"},
        "ToFull": [{"Email": "box@inbound.postmarkapp.com", "Name": ""}],
        "Subject": "Hello",
        "Date": "Tue, 7 May 2024 10:00:00 +0000",
        "MessageID": "11111111-2222-3333-4444-555555555555",
        "TextBody": "Hi",
        "Headers": [{"Name": "Message-ID", "Value": "<pm-1@customer.example>"}],
    }
    payload.update(fields)
    return json.dumps({key: value for key, value in payload.items() if value is not None}).encode()


def test_doc_example(tenants: TenantDirectory) -> None:
    """The documented example: RFC Message-ID over Postmark's UUID, MailboxHash as reference."""
    event = parse_one(provider_fixture("postmark_inbound.json"), tenants)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.EMAIL
    assert event.provider == "postmark"
    assert event.direction is Direction.INBOUND
    expected_id = "CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com"
    assert event.provider_message_id == expected_id
    assert event.participant.channel_user_id == "myuser@theirdomain.com"
    assert event.participant.display_name == "John Doe"
    assert event.business.channel_account_id == (
        "451d9b70cf9364d23ff6f9d51d870251569e@inbound.postmarkapp.com"
    )
    assert event.occurred_at == datetime(2012, 4, 5, 14, 59, 1, tzinfo=UTC)
    assert event.received_at == RECEIVED_AT
    assert event.content.subject == "This is an inbound message"
    assert event.content.text == "[ASCII]"
    assert [(a.kind, a.filename, a.mime_type, a.size) for a in event.content.attachments] == [
        (AttachmentKind.IMAGE, "myimage.png", "image/png", 4096),
        (AttachmentKind.DOCUMENT, "mypaper.doc", "application/msword", 16384),
    ]
    assert event.email is not None
    assert event.email.message_id == expected_id
    assert event.references == ["ahoy"]


def test_check_payload_uses_stripped_reply_and_postmark_id(tenants: TenantDirectory) -> None:
    """The dashboard check: reply text without history, Postmark's MessageID as the fallback."""
    event = parse_one(provider_fixture("postmark_inbound_check_payload.json"), tenants)
    assert event.tenant_id == "acme"
    assert event.provider_message_id == "00000000-0000-0000-0000-000000000000"
    assert event.participant.channel_user_id == "support@postmarkapp.com"
    assert event.participant.display_name == "Postmarkapp Support"
    assert event.business.channel_account_id == "mailbox@inbound.postmarkapp.com"
    assert event.content.text == "This is the reply text"
    assert event.content.subject == "Test subject"
    assert event.occurred_at == datetime(2023, 5, 5, 21, 44, 33, tzinfo=UTC)
    assert [(a.filename, a.size) for a in event.content.attachments] == [("test.txt", 45)]
    assert event.references == ["SampleHash"]


def test_check_payload_with_raw_email(tenants: TenantDirectory) -> None:
    """The RawEmail variant parses the same way (its MIME has no Message-ID either)."""
    event = parse_one(provider_fixture("postmark_inbound_check_payload_with_raw.json"), tenants)
    assert event.provider_message_id == "00000000-0000-0000-0000-000000000000"
    assert event.occurred_at == datetime(2023, 5, 5, 21, 41, 16, tzinfo=UTC)


def test_captured_post(tenants: TenantDirectory) -> None:
    """The captured post: ``Message-Id`` header matched in any case, no attachment bytes kept."""
    headers, raw = split_capture(provider_fixture("postmark_inbound_captured.http"))
    result = postmark.parse(raw, headers, make_context(tenants=tenants))
    event = result.events[0]
    assert isinstance(event, MessageEvent)
    assert event.provider_message_id == "26ECCA85-47DE-4E66-827A-B35E34874F26@opennorth.ca"
    assert event.participant.display_name == "James McKinney"
    assert event.business.channel_account_id == (
        "4354473e2e6ab001fa836f627a54004e@inbound.postmarkapp.com"
    )
    assert event.occurred_at == datetime(2013, 4, 16, 0, 20, 12, tzinfo=UTC)
    assert event.content.text is not None
    assert event.content.text.startswith("bold text")
    assert [(a.filename, a.size) for a in event.content.attachments] == [
        ("foo.txt", 76),
        ("bar.txt", 52),
    ]
    assert "TG9yZW0gaXBzdW0" not in event.model_dump_json()
    assert event.references == ["bar"]


def test_threading_headers(tenants: TenantDirectory) -> None:
    """In-Reply-To and References are read from Headers[] without brackets."""
    raw = postmark_payload(
        Headers=[
            {"Name": "Message-ID", "Value": "<pm-2@customer.example>"},
            {"Name": "In-Reply-To", "Value": "<out-1@acme.example>"},
            {"Name": "References", "Value": "<out-0@acme.example> <out-1@acme.example>"},
        ]
    )
    event = parse_one(raw, tenants)
    assert event.email is not None
    assert event.email.in_reply_to == "out-1@acme.example"
    assert event.email.references == ["out-0@acme.example", "out-1@acme.example"]
    assert event.content.reply_to_provider_message_id == "out-1@acme.example"


def test_message_id_from_raw_email(tenants: TenantDirectory) -> None:
    """When Headers[] lacks Message-ID, the one in RawEmail is used."""
    raw_email = "From: ann@customer.example\r\nMessage-ID: <raw-9@customer.example>\r\n\r\nHi\r\n"
    event = parse_one(postmark_payload(Headers=[], RawEmail=raw_email), tenants)
    assert event.provider_message_id == "raw-9@customer.example"


def test_no_ids_at_all_uses_hash(tenants: TenantDirectory) -> None:
    """Without Message-ID or MessageID the deterministic hash id is used."""
    event = parse_one(postmark_payload(Headers=None, MessageID=None), tenants)
    assert event.provider_message_id.startswith("sha256:")


def test_mailbox_hash_is_a_reference(tenants: TenantDirectory) -> None:
    """MailboxHash is a reference even when the recipient list omits the plus address."""
    event = parse_one(postmark_payload(MailboxHash="ABC-123456"), tenants)
    assert event.references == ["ABC-123456"]


def test_original_recipient_routes(tenants: TenantDirectory) -> None:
    """A blind-copied tenant address in OriginalRecipient routes the email."""
    raw = postmark_payload(
        ToFull=[{"Email": "friend@elsewhere.example", "Name": "Friend"}],
        OriginalRecipient="box+ABC-654321@inbound.postmarkapp.com",
    )
    event = parse_one(raw, tenants)
    assert event.tenant_id == "acme"
    assert event.references == ["ABC-654321"]


def test_strings_instead_of_full_lists(tenants: TenantDirectory) -> None:
    """Without FromFull/ToFull the From and To strings are used."""
    raw = postmark_payload(
        FromFull=None,
        ToFull=None,
        From="Ann <ann@customer.example>",
        To="box@inbound.postmarkapp.com",
    )
    event = parse_one(raw, tenants)
    assert event.participant.channel_user_id == "ann@customer.example"
    assert event.participant.display_name == "Ann"


def test_non_ascii_display_name(tenants: TenantDirectory) -> None:
    """A non-ASCII FromFull name is kept as written."""
    raw = postmark_payload(FromFull={"Email": "zoe@customer.example", "Name": 'Zoë "Z" Ö'})
    assert parse_one(raw, tenants).participant.display_name == 'Zoë "Z" Ö'


def test_odd_field_types_are_ignored(tenants: TenantDirectory) -> None:
    """Fields of unexpected types are skipped, never raised on."""
    raw = postmark_payload(
        CcFull="not a list",
        Headers=[None, {"Name": 1}, "x"],
        Attachments=[None, {"Name": "a", "ContentLength": "12"}, {"ContentLength": True}],
        Subject=5,
    )
    event = parse_one(raw, tenants)
    assert event.content.subject is None
    assert [(a.filename, a.size) for a in event.content.attachments] == [("a", None), (None, None)]


def test_no_known_recipient_is_a_problem(tenants: TenantDirectory) -> None:
    """An email for no tenant yields a problem naming the recipients and no event."""
    raw = postmark_payload(ToFull=[{"Email": "x@nowhere.example"}])
    result = postmark.parse(raw, {}, make_context(tenants=tenants))
    assert result.events == []
    assert len(result.problems) == 1
    assert "x@nowhere.example" in result.problems[0]


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"'])
def test_unreadable_body_is_a_parse_error(tenants: TenantDirectory, raw: bytes) -> None:
    """A body that is not a JSON object cannot be parsed."""
    with pytest.raises(ParseError):
        postmark.parse(raw, {}, make_context(tenants=tenants))


def test_missing_sender_is_a_parse_error(tenants: TenantDirectory) -> None:
    """A post without any sender address cannot be normalised."""
    with pytest.raises(ParseError):
        postmark.parse(
            postmark_payload(From=None, FromFull=None), {}, make_context(tenants=tenants)
        )


# --- RawEmail when the parsed fields are missing, Date from Headers[] ------------------------

RAW_TENANTS = parse_tenants(
    '[[tenants]]\nid = "acme"\nname = "Acme"\n'
    'email_addresses = ["replies@example.com", "test@inbound.example.com"]\n',
    environ={},
)


def test_raw_email_only_is_parsed() -> None:
    """Rails' Postmark ingress test posts nothing but RawEmail: sender, recipient, subject,
    body, date, threading headers and attachments all come from the MIME."""
    event = parse_one(provider_fixture("postmark_inbound_raw_only_rails.json"), RAW_TENANTS)
    assert event.tenant_id == "acme"
    assert event.direction is Direction.INBOUND
    assert event.participant.channel_user_id == "jason@37signals.com"
    assert event.participant.display_name == "Jason Fried"
    assert event.business.channel_account_id == "replies@example.com"
    assert event.provider_message_id == "0CB459E0-0336-41DA-BC88-E6E28C697DDB@37signals.com"
    assert event.content.subject == "Discussion: Let's debate these attachments"
    assert event.content.text == "Let's talk about these images:"
    assert event.occurred_at == datetime(2011, 9, 13, 19, 19, 37, tzinfo=UTC)
    assert [(a.kind, a.filename) for a in event.content.attachments] == [
        (AttachmentKind.IMAGE, "avatar1.jpeg"),
        (AttachmentKind.IMAGE, "avatar2.jpg"),
    ]
    replied_to = "4e6e35f5a38b4_479f13bb90078178@small-app-01.mail"
    assert event.content.reply_to_provider_message_id == replied_to
    assert event.email is not None
    assert event.email.in_reply_to == replied_to
    assert event.email.references == [replied_to]


def test_raw_email_fills_only_what_is_missing() -> None:
    """anymail's "include raw email" payload: From, To, Subject, Date and Message-ID come from
    RawEmail; Postmark's own StrippedTextReply, Bcc, MessageID and Attachments stay."""
    event = parse_one(provider_fixture("postmark_inbound_raw_email_anymail.json"), RAW_TENANTS)
    assert event.participant.channel_user_id == "from+test@example.org"
    assert event.participant.display_name == "Displayed From"
    assert event.business.channel_account_id == "test@inbound.example.com"
    assert event.provider_message_id == "CAEPk3R+4Zr@mail.example.org"
    assert event.content.subject == "Test subject"
    assert event.content.text == "stripped plaintext body"
    assert event.occurred_at == datetime(2017, 10, 12, 1, 31, 4, tzinfo=UTC)
    assert [a.filename for a in event.content.attachments] == ["no-duplicates.txt"]


def test_parsed_fields_win_over_raw_email(tenants: TenantDirectory) -> None:
    """RawEmail only fills gaps: a payload missing its Date keeps its own sender and subject."""
    raw_email = (
        "From: someone-else@raw.example\r\nSubject: raw subject\r\n"
        "Date: Mon, 6 May 2024 08:00:00 +0000\r\n\r\nraw body\r\n"
    )
    event = parse_one(postmark_payload(Date=None, RawEmail=raw_email), tenants)
    assert event.participant.channel_user_id == "ann@customer.example"
    assert event.content.subject == "Hello"
    assert event.content.text == "Hi"
    assert event.occurred_at == datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


def test_without_sender_and_raw_email_it_is_still_a_parse_error(tenants: TenantDirectory) -> None:
    """A RawEmail without a From header cannot supply the missing sender."""
    raw = postmark_payload(From=None, FromFull=None, RawEmail="Subject: no sender\r\n\r\nx")
    with pytest.raises(ParseError):
        postmark.parse(raw, {}, make_context(tenants=tenants))


def doc_example_without_date(**headers: str) -> bytes:
    """Postmark's documented example with its ``Date`` field removed and ``headers`` appended
    to ``Headers[]``."""
    payload = json.loads(provider_fixture("postmark_inbound.json"))
    del payload["Date"]
    payload["Headers"] += [{"Name": name, "Value": value} for name, value in headers.items()]
    return json.dumps(payload).encode()


def test_date_from_headers_when_there_is_no_date_field(tenants: TenantDirectory) -> None:
    """Without a Date field the Date in Headers[] (any case, RFC 5322) gives occurred_at in
    UTC."""
    event = parse_one(doc_example_without_date(date="Thu, 5 Apr 2012 16:59:01 +0200"), tenants)
    assert event.occurred_at == datetime(2012, 4, 5, 14, 59, 1, tzinfo=UTC)
    assert parse_one(doc_example_without_date(), tenants).occurred_at == RECEIVED_AT


def test_date_field_wins_over_headers(tenants: TenantDirectory) -> None:
    """The top-level Date is used when present, whatever Headers[] says."""
    raw = postmark_payload(
        Headers=[
            {"Name": "Message-ID", "Value": "<pm-1@customer.example>"},
            {"Name": "Date", "Value": "Wed, 1 Jan 2020 00:00:00 +0000"},
        ]
    )
    assert parse_one(raw, tenants).occurred_at == datetime(2024, 5, 7, 10, 0, tzinfo=UTC)
