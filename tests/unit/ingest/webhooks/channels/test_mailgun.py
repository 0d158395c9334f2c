"""Mailgun inbound routes: signature vectors G1-G3, freshness, tokens and the parsed email."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

import pytest

from contracts import (
    AttachmentKind,
    Channel,
    Direction,
    MessageEvent,
    TenantDirectory,
    parse_tenants,
)
from ingest.webhooks.channels import mailgun
from ingest.webhooks.channels.base import ParseError
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import (
    RECEIVED_AT,
    make_context,
    multipart_body,
    split_capture,
)

MAX_AGE = timedelta(minutes=5)
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}
VECTORS = [
    pytest.param(
        "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "1403645220",
        "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6",
        "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33",
        id="G1",
    ),
    pytest.param(
        "tbsy84uSV1Kt3ZJZELY2TmShPRs91E3yL4tzf96297vBCkDWgL",
        "1539112500",
        "7VwW7k6Ak7zcTwoSoNm7aTtbk1g67MKAnsYLfUB7PdszbgR5Xi",
        "ef24c5225322217bb065b80bb54eb4f9206d764e3e16abab07f0a64d1cf477cc",
        id="G2",
    ),
    pytest.param(
        "foo",
        "1366071615",
        "5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87",
        "bc2ab6c1080d52f2a06928b93f21e86c2d28c548e2ef64354f8ba1a95bb53cd6",
        id="G3",
    ),
]


def signed_body(*, timestamp: str, token: str, signature: str, **fields: str) -> bytes:
    """An urlencoded route post carrying the signature fields."""
    return urlencode(
        {"timestamp": timestamp, "token": token, "signature": signature, **fields}
    ).encode()


def at(timestamp: str, offset: timedelta = timedelta()) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC) + offset


def captured() -> tuple[dict[str, str], bytes]:
    return split_capture(provider_fixture("mailgun_inbound_captured.http"))


def parse_one(raw: bytes, headers: dict[str, str], tenants: TenantDirectory) -> MessageEvent:
    result = mailgun.parse(raw, headers, make_context(tenants=tenants))
    assert result.problems == []
    assert len(result.events) == 1
    event = result.events[0]
    assert isinstance(event, MessageEvent)
    return event


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "timestamp", "token", "signature"), VECTORS)
def test_vector_verifies_when_fresh(key: str, timestamp: str, token: str, signature: str) -> None:
    """Each published vector verifies when ``now`` is within max_age of its timestamp."""
    raw = signed_body(timestamp=timestamp, token=token, signature=signature)
    for offset in (timedelta(), timedelta(minutes=4), -timedelta(minutes=4)):
        assert mailgun.verify(raw, URLENCODED, key, at(timestamp, offset), MAX_AGE)


@pytest.mark.parametrize(("key", "timestamp", "token", "signature"), VECTORS)
def test_vector_refused_when_stale(key: str, timestamp: str, token: str, signature: str) -> None:
    """A correct signature older (or further in the future) than max_age is refused."""
    raw = signed_body(timestamp=timestamp, token=token, signature=signature)
    assert not mailgun.verify(raw, URLENCODED, key, at(timestamp, timedelta(minutes=6)), MAX_AGE)
    assert not mailgun.verify(raw, URLENCODED, key, at(timestamp, -timedelta(minutes=6)), MAX_AGE)


@pytest.mark.parametrize(("key", "timestamp", "token", "signature"), VECTORS)
def test_vector_refused_when_altered(key: str, timestamp: str, token: str, signature: str) -> None:
    """Another key, token or timestamp breaks the signature."""
    now = at(timestamp)
    raw = signed_body(timestamp=timestamp, token=token, signature=signature)
    assert not mailgun.verify(raw, URLENCODED, key + "x", now, MAX_AGE)
    raw = signed_body(timestamp=timestamp, token=token + "x", signature=signature)
    assert not mailgun.verify(raw, URLENCODED, key, now, MAX_AGE)
    raw = signed_body(timestamp=str(int(timestamp) + 1), token=token, signature=signature)
    assert not mailgun.verify(raw, URLENCODED, key, now, MAX_AGE)


def test_captured_post_verifies_with_g3() -> None:
    """The captured multipart Mailgun POST is signed with key ``foo`` (vector G3)."""
    headers, raw = captured()
    now = at("1366071615", timedelta(seconds=30))
    assert mailgun.verify(raw, headers, "foo", now, MAX_AGE)
    assert not mailgun.verify(raw, headers, "foo", at("1366071615", timedelta(hours=1)), MAX_AGE)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"timestamp": "1366071615", "token": "t"}, id="no-signature"),
        pytest.param({"timestamp": "soon", "token": "t", "signature": "ab"}, id="bad-timestamp"),
        pytest.param({"timestamp": "9" * 30, "token": "t", "signature": "ab"}, id="huge-timestamp"),
        pytest.param({"token": "t", "signature": "ab"}, id="no-timestamp"),
    ],
)
def test_incomplete_signature_fields_are_refused(fields: dict[str, str]) -> None:
    """Missing or malformed signature fields are refused without raising."""
    raw = urlencode(fields).encode()
    assert not mailgun.verify(raw, URLENCODED, "foo", at("1366071615"), MAX_AGE)


def test_unreadable_body_is_refused() -> None:
    """A body that is no form is refused."""
    assert not mailgun.verify(
        b"{}", {"content-type": "application/json"}, "foo", RECEIVED_AT, MAX_AGE
    )


def test_token_for_replay_cache() -> None:
    """``token`` returns the request's token, None when there is none."""
    headers, raw = captured()
    assert mailgun.token(raw, headers) == "5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87"
    assert mailgun.token(b"a=1", URLENCODED) is None
    assert mailgun.token(b"{}", {"content-type": "application/json"}) is None


# --- parsing ------------------------------------------------------------------------------


def test_captured_post(tenants: TenantDirectory) -> None:
    """The captured route post becomes an inbound email for acme with its reply text."""
    headers, raw = captured()
    event = parse_one(raw, headers, tenants)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.EMAIL
    assert event.provider == "mailgun"
    assert event.direction is Direction.INBOUND
    assert event.provider_message_id == "E102015D-F580-4316-81FA-7324838A3AE8@opennorth.ca"
    assert event.participant.channel_user_id == "james@opennorth.ca"
    assert event.participant.display_name == "James McKinney"
    assert event.business.channel_account_id == "foo@multimail.mailgun.org"
    assert event.occurred_at == datetime(2013, 4, 16, 0, 20, 12, tzinfo=UTC)
    assert event.received_at == RECEIVED_AT
    assert event.content.subject == "Test"
    assert event.content.text == "bold text\n\n\n\nsome more bold text\n\n\n\nsome italic text"
    assert [(a.filename, a.mime_type, a.size, a.kind) for a in event.content.attachments] == [
        ("foo.txt", "text/plain", 58, AttachmentKind.DOCUMENT),
        ("bar.txt", "text/plain", 39, AttachmentKind.DOCUMENT),
    ]
    assert event.email is not None
    assert event.email.message_id == "E102015D-F580-4316-81FA-7324838A3AE8@opennorth.ca"
    assert event.email.in_reply_to is None
    assert event.references == ["bar"]


def test_same_post_twice_same_event_id(tenants: TenantDirectory) -> None:
    """A retried post (same email) gives the same event id."""
    headers, raw = captured()
    assert parse_one(raw, headers, tenants).event_id == parse_one(raw, headers, tenants).event_id


def test_urlencoded_post_with_threading(tenants: TenantDirectory) -> None:
    """An urlencoded post (no attachments) reads threading headers from message-headers."""
    message_headers = (
        '[["From", "Ann <ann@customer.example>"], ["To", "bookings+ABC-123456@x.mailgun.org"],'
        ' ["Message-Id", "<m2@customer.example>"], ["In-Reply-To", "<out-1@acme.example>"],'
        ' ["References", "<out-0@acme.example> <out-1@acme.example>"],'
        ' ["Date", "Tue, 07 May 2024 10:00:00 +0000"]]'
    )
    raw = urlencode(
        {
            "recipient": "bookings+ABC-123456@x.mailgun.org",
            "sender": "ann@customer.example",
            "from": "Ann <ann@customer.example>",
            "subject": "Re: booking",
            "body-plain": "Sounds good\n> earlier",
            "message-headers": message_headers,
        }
    ).encode()
    directory = tenants_with_mailgun_domain()
    event = parse_one(raw, URLENCODED, directory)
    assert event.content.text == "Sounds good\n> earlier"
    assert event.email is not None
    assert event.email.in_reply_to == "out-1@acme.example"
    assert event.email.references == ["out-0@acme.example", "out-1@acme.example"]
    assert event.references == ["ABC-123456"]
    assert event.occurred_at == datetime(2024, 5, 7, 10, 0, tzinfo=UTC)


def tenants_with_mailgun_domain() -> TenantDirectory:
    """A tenant receiving on a Mailgun domain."""
    return parse_tenants(
        '[[tenants]]\nid = "acme"\nname = "Acme"\nemail_addresses = ["@x.mailgun.org"]\n',
        environ={},
    )


def test_body_mime_post(tenants: TenantDirectory) -> None:
    """A ``body-mime`` post is read from the MIME message, routed by ``recipient``."""
    message = EmailMessage()
    message["From"] = "Ann <ann@customer.example>"
    message["To"] = "list@elsewhere.example"
    message["Subject"] = "Raw"
    message["Message-ID"] = "<raw-1@customer.example>"
    message.set_content("raw body")
    headers, raw = multipart_body(
        [
            ("recipient", "foo@multimail.mailgun.org", None, None),
            ("body-mime", message.as_bytes(), None, None),
        ]
    )
    event = parse_one(raw, headers, tenants)
    assert event.tenant_id == "acme"
    assert event.provider_message_id == "raw-1@customer.example"
    assert event.content.text == "raw body"
    assert event.business.channel_account_id == "foo@multimail.mailgun.org"


def test_no_known_recipient_is_a_problem(tenants: TenantDirectory) -> None:
    """A post for an address no tenant owns yields a problem and no event."""
    raw = urlencode(
        {"recipient": "x@nowhere.example", "from": "a@b.example", "body-plain": "hi"}
    ).encode()
    result = mailgun.parse(raw, URLENCODED, make_context(tenants=tenants))
    assert result.events == []
    assert len(result.problems) == 1
    assert "x@nowhere.example" in result.problems[0]


def test_unreadable_body_is_a_parse_error(tenants: TenantDirectory) -> None:
    """A body that is not a form cannot be parsed."""
    with pytest.raises(ParseError):
        mailgun.parse(b"{}", {"content-type": "application/json"}, make_context(tenants=tenants))
