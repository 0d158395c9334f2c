"""SendGrid Inbound Parse: parsed mode, raw MIME mode, the captured request, and the ECDSA
signature of a Parse webhook's security policy (SDK vector, generated keys, the route)."""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from contracts import (
    Channel,
    Direction,
    MessageEvent,
    Settings,
    TenantDirectory,
    message_event_id,
    parse_tenants,
)
from ingest.errors import EXCEPTION_HANDLERS
from ingest.webhooks.channels import sendgrid
from ingest.webhooks.channels.base import ParseError
from ingest.webhooks.email import EmailWebhooks
from ingest.webhooks.pipeline import Ingestor
from tests.conftest import provider_fixture
from tests.fakes import MemoryPublisher
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
    assert event.content.reply_to_provider_message_id == "out-1@acme.example"


def test_raw_mode_reply_target(tenants: TenantDirectory) -> None:
    """In raw mode the MIME message's In-Reply-To is the reply target, brackets removed."""
    mime = (
        "From: Ann <ann@customer.example>\r\nTo: inbound@inbound.example.com\r\n"
        "Message-ID: <sg-3@customer.example>\r\nIn-Reply-To: <out-7@acme.example>\r\n"
        "Subject: Re: booking\r\n\r\nYes please\r\n"
    )
    headers, raw = multipart_body(
        [
            ("email", mime, None, None),
            ("envelope", '{"to":["inbound@inbound.example.com"]}', None, None),
        ]
    )
    event = parse_one(raw, headers, tenants)
    assert event.content.reply_to_provider_message_id == "out-7@acme.example"
    assert event.email is not None
    assert event.email.in_reply_to == "out-7@acme.example"


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


# --- the signed Inbound Parse (ECDSA security policy) --------------------------------------

#: Published in sendgrid/sendgrid-python's test/unit/test_eventwebhook.py; the SDKs verify the
#: Event Webhook and a Parse webhook's security policy the same way: timestamp + raw body.
VECTOR: dict[str, str] = json.loads(provider_fixture("sendgrid_signed_event_webhook_vector.json"))
#: The public key in SendGrid's "Securing your Inbound Parse Webhooks" example response.
DOC_PARSE_POLICY_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmgmjvPAR/Lmwn2teL2WJUDIx35PqsnLKjPhPbrKkfMg6vK4NZQB1"
    "VeFSKbV7whQbEJRFHjF8+1zJxsXRP1GbWw=="
)
SIGNED_AT = "1714989600"
BASIC = {"authorization": "Basic " + base64.b64encode(b"inbound:parse-secret").decode()}


def signature_headers(signature: str, timestamp: str) -> dict[str, str]:
    return {sendgrid.SIGNATURE_HEADER: signature, sendgrid.TIMESTAMP_HEADER: timestamp}


def signed(
    key: ec.EllipticCurvePrivateKey, body: bytes, *, timestamp: str = SIGNED_AT
) -> dict[str, str]:
    """The two headers SendGrid adds: a base64 DER signature of timestamp + body."""
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return signature_headers(base64.b64encode(signature).decode(), timestamp)


def base64_der(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def acme_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def globex_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def signing_directory(*, acme: str | None, globex: str | None = None) -> TenantDirectory:
    """acme receives at inbound@inbound.example.com, globex at desk@globex.example, initech
    (never with a key) at hello@initech.example."""

    def key_line(key: str | None) -> str:
        return "" if key is None else f"sendgrid_public_key = {json.dumps(key)}\n"

    return parse_tenants(
        '[email]\nbasic_auth = "inbound:parse-secret"\n\n'
        '[[tenants]]\nid = "acme"\nname = "Acme"\n'
        'email_addresses = ["inbound@inbound.example.com"]\n'
        + key_line(acme)
        + '\n[[tenants]]\nid = "globex"\nname = "Globex"\n'
        'email_addresses = ["desk@globex.example"]\n'
        + key_line(globex)
        + '\n[[tenants]]\nid = "initech"\nname = "Initech"\n'
        'email_addresses = ["hello@initech.example"]\n',
        environ={},
    )


def post_to(*addresses: str) -> tuple[dict[str, str], bytes]:
    """A parsed-mode post whose To and envelope name ``addresses``."""
    return parsed_post(
        to=", ".join(addresses),
        envelope=json.dumps({"to": list(addresses), "from": "ann@x.example"}),
    )


def test_sdk_vector_verifies() -> None:
    """The SDK's published key, signature and timestamp verify its payload's exact bytes."""
    headers = signature_headers(VECTOR["signature"], VECTOR["timestamp"])
    assert sendgrid.verify(VECTOR["payload"].encode(), headers, VECTOR["public_key"])


@pytest.mark.parametrize(
    ("key", "signature", "timestamp", "payload"),
    [
        pytest.param("other_public_key", "signature", "timestamp", "payload", id="sdk-bad-key"),
        pytest.param("public_key", "other_signature", "timestamp", "payload", id="sdk-bad-sig"),
        pytest.param("public_key", "signature", "timestamp", "payload-changed", id="bad-payload"),
        pytest.param("public_key", "signature", "timestamp-changed", "payload", id="bad-time"),
    ],
)
def test_sdk_vector_refusals(key: str, signature: str, timestamp: str, payload: str) -> None:
    """The SDK's negative cases (another key, another signature, another payload or timestamp)
    are refused."""

    def value(name: str) -> str:
        base, _, changed = name.partition("-")
        return VECTOR[base] + ("x" if changed else "")

    headers = signature_headers(value(signature), value(timestamp))
    assert not sendgrid.verify(value(payload).encode(), headers, VECTOR[key])


def test_sdk_payload_without_its_trailing_crlf_is_refused() -> None:
    """The raw bytes are signed: the SDK's trailing CRLF is part of them."""
    headers = signature_headers(VECTOR["signature"], VECTOR["timestamp"])
    assert not sendgrid.verify(VECTOR["payload"].rstrip().encode(), headers, VECTOR["public_key"])


def test_signed_parse_post_verifies_with_base64_der_and_pem(
    acme_key: ec.EllipticCurvePrivateKey,
) -> None:
    """A real Parse body signed with a generated P-256 key verifies with the key as SendGrid
    shows it (base64 DER) and as PEM."""
    body = sample("sendgrid_inbound_parse.txt")
    headers = {**SAMPLE_HEADERS, **signed(acme_key, body)}
    assert sendgrid.verify(body, headers, base64_der(acme_key))
    assert sendgrid.verify(body, headers, pem(acme_key))
    assert sendgrid.verify(body, headers, pem(acme_key).replace("\n", "\\n"))


def test_signed_parse_post_refusals(
    acme_key: ec.EllipticCurvePrivateKey, globex_key: ec.EllipticCurvePrivateKey
) -> None:
    """A wrong key, a tampered body, a missing or malformed header, or a body-only signature
    are each refused."""
    body = sample("sendgrid_inbound_parse.txt")
    good = signed(acme_key, body)
    key = base64_der(acme_key)
    assert sendgrid.verify(body, good, key)
    assert not sendgrid.verify(body, good, base64_der(globex_key))
    assert not sendgrid.verify(body.replace(b"Hello", b"Hellp"), good, key)
    assert not sendgrid.verify(body, {sendgrid.TIMESTAMP_HEADER: SIGNED_AT}, key)
    assert not sendgrid.verify(
        body, {sendgrid.SIGNATURE_HEADER: good[sendgrid.SIGNATURE_HEADER]}, key
    )
    assert not sendgrid.verify(body, signature_headers("!!not base64!!", SIGNED_AT), key)
    assert not sendgrid.verify(body, signature_headers("", SIGNED_AT), key)
    body_only = acme_key.sign(body, ec.ECDSA(hashes.SHA256()))
    assert not sendgrid.verify(
        body, signature_headers(base64.b64encode(body_only).decode(), SIGNED_AT), key
    )
    moved = {**good, sendgrid.TIMESTAMP_HEADER: str(int(SIGNED_AT) + 1)}
    assert not sendgrid.verify(body, moved, key)


def test_an_old_timestamp_is_not_refused(acme_key: ec.EllipticCurvePrivateKey) -> None:
    """SendGrid documents no tolerance and retries refused posts for days: a signature made
    long ago still verifies (a replay repeats the same email, hence the same event id)."""
    body = sample("sendgrid_inbound_parse.txt")
    assert sendgrid.verify(
        body, signed(acme_key, body, timestamp="1000000000"), base64_der(acme_key)
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("not a key", id="garbage"),
        pytest.param(DOC_PARSE_POLICY_KEY[:40], id="truncated"),
        pytest.param(
            base64.b64encode(
                ec.generate_private_key(ec.SECP384R1())
                .public_key()
                .public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ).decode(),
            id="p384",
        ),
        pytest.param(
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode(),
            id="rsa",
        ),
    ],
)
def test_what_is_no_sendgrid_key(key: str) -> None:
    """Only P-256 public keys are keys; anything else never verifies."""
    assert not sendgrid.is_public_key(key)
    body = sample("sendgrid_inbound_parse.txt")
    assert not sendgrid.verify(body, signature_headers(VECTOR["signature"], SIGNED_AT), key)


def test_the_documented_parse_policy_key_is_a_key() -> None:
    """The example key of SendGrid's Parse security policy docs loads as a P-256 key."""
    assert sendgrid.is_public_key(DOC_PARSE_POLICY_KEY)
    assert sendgrid.is_public_key(VECTOR["public_key"])


def test_keys_of_the_named_tenant() -> None:
    """A request for acme must be signed with acme's key; one for initech (no key) with none."""
    directory = signing_directory(acme="KEY-A", globex="KEY-G")
    headers, raw = post_to("inbound@inbound.example.com")
    assert sendgrid.signing_keys(raw, headers, directory) == ["KEY-A"]
    headers, raw = post_to("hello@initech.example")
    assert sendgrid.signing_keys(raw, headers, directory) == []


def test_every_named_tenant_with_a_key_counts() -> None:
    """Routed to initech (first), a request that also names acme still needs acme's key; one
    naming acme and globex needs both keys, which no one signature satisfies."""
    directory = signing_directory(acme="KEY-A", globex="KEY-G")
    headers, raw = post_to("hello@initech.example", "inbound@inbound.example.com")
    assert sendgrid.signing_keys(raw, headers, directory) == ["KEY-A"]
    headers, raw = post_to("desk@globex.example", "inbound@inbound.example.com")
    assert sendgrid.signing_keys(raw, headers, directory) == ["KEY-G", "KEY-A"]


def test_tenants_sharing_a_key_need_it_once() -> None:
    """Two tenants behind one SendGrid account (one key) need that key once."""
    directory = signing_directory(acme="KEY-A", globex="KEY-A")
    headers, raw = post_to("desk@globex.example", "inbound@inbound.example.com")
    assert sendgrid.signing_keys(raw, headers, directory) == ["KEY-A"]


def test_a_request_naming_no_tenant_needs_every_key() -> None:
    """Naming no tenant, or unreadable, a request could be for any: every configured key
    applies (none when no tenant has one)."""
    directory = signing_directory(acme="KEY-A", globex="KEY-G")
    headers, raw = post_to("x@nowhere.example")
    assert sendgrid.signing_keys(raw, headers, directory) == ["KEY-A", "KEY-G"]
    assert sendgrid.signing_keys(b"--", {"content-type": "text/plain"}, directory) == [
        "KEY-A",
        "KEY-G",
    ]
    assert sendgrid.signing_keys(raw, headers, signing_directory(acme=None)) == []


def test_raw_mode_keys_follow_the_mime_recipients() -> None:
    """In raw mode the MIME To header routes the email (before the envelope), so it also
    picks the key: the key checked is the key of the tenant the email goes to."""
    directory = signing_directory(acme="KEY-A")
    mime = "From: ann@x.example\r\nTo: inbound@inbound.example.com\r\n\r\nHi\r\n"
    headers, raw = multipart_body(
        [("email", mime, None, None), ("envelope", '{"to":["hello@initech.example"]}', None, None)]
    )
    assert sendgrid.signing_keys(raw, headers, directory) == ["KEY-A"]
    event = parse_one(raw, headers, directory)
    assert event.tenant_id == "acme"


# --- the route: refused through the existing 401 path, nothing published ----------------------


class Gateway:
    """The email routes over an in-memory publisher, for one tenants directory at a time."""

    def __init__(self) -> None:
        self.publisher = MemoryPublisher()

    def post(
        self, directory: TenantDirectory, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str]:
        ingestor = Ingestor(self.publisher, Settings(), directory)
        app = Litestar(
            route_handlers=[EmailWebhooks],
            dependencies={
                "ingestor": Provide(lambda: ingestor, sync_to_thread=False),
                # The Mailgun route's; never called here.
                "mailgun_tokens": Provide(lambda: None, sync_to_thread=False),
            },
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        )
        with TestClient(app=app) as client:
            answer = client.post("/webhooks/email/sendgrid", content=body, headers=headers)
        return answer.status_code, answer.text

    @property
    def kinds(self) -> list[str]:
        return [record.kind for record in self.publisher.records]


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


def test_route_accepts_a_request_signed_with_the_tenants_key(
    gateway: Gateway, acme_key: ec.EllipticCurvePrivateKey
) -> None:
    """Basic credentials and acme's signature: 200 and the message published."""
    directory = signing_directory(acme=base64_der(acme_key))
    headers, body = post_to("inbound@inbound.example.com")
    status, text = gateway.post(directory, body, {**headers, **BASIC, **signed(acme_key, body)})
    assert status == 200, text
    assert gateway.kinds == ["message"]


def test_route_refuses_an_unsigned_or_wrongly_signed_request(
    gateway: Gateway, acme_key: ec.EllipticCurvePrivateKey, globex_key: ec.EllipticCurvePrivateKey
) -> None:
    """For a tenant with a key: no signature, another key's, or a tampered body: 401, nothing
    published."""
    directory = signing_directory(acme=base64_der(acme_key))
    headers, body = post_to("inbound@inbound.example.com")
    tampered = body.replace(b"Body text", b"Body texT")
    for extra, sent in [
        ({}, body),
        (signed(globex_key, body), body),
        (signed(acme_key, body), tampered),
    ]:
        status, _ = gateway.post(directory, sent, {**headers, **BASIC, **extra})
        assert status == 401
    assert gateway.kinds == []


def test_route_still_needs_basic_auth(
    gateway: Gateway, acme_key: ec.EllipticCurvePrivateKey
) -> None:
    """A good signature does not replace the Basic credentials."""
    directory = signing_directory(acme=base64_der(acme_key))
    headers, body = post_to("inbound@inbound.example.com")
    status, _ = gateway.post(directory, body, {**headers, **signed(acme_key, body)})
    assert status == 401
    assert gateway.kinds == []


def test_route_without_a_key_is_as_before(gateway: Gateway) -> None:
    """A tenant without a key gets unsigned requests behind Basic auth, as before."""
    headers, body = post_to("hello@initech.example")
    status, text = gateway.post(signing_directory(acme=None), body, {**headers, **BASIC})
    assert status == 200, text
    assert gateway.kinds == ["message"]


def test_route_refuses_a_request_naming_tenants_with_different_keys(
    gateway: Gateway, acme_key: ec.EllipticCurvePrivateKey, globex_key: ec.EllipticCurvePrivateKey
) -> None:
    """Signed by acme but naming globex too (another key): refused rather than guessed."""
    directory = signing_directory(acme=base64_der(acme_key), globex=pem(globex_key))
    headers, body = post_to("inbound@inbound.example.com", "desk@globex.example")
    status, _ = gateway.post(directory, body, {**headers, **BASIC, **signed(acme_key, body)})
    assert status == 401
    assert gateway.kinds == []


def test_route_for_no_tenant_needs_the_configured_key(
    gateway: Gateway, acme_key: ec.EllipticCurvePrivateKey
) -> None:
    """Naming no tenant: unsigned is refused; signed with the one configured key, it is
    dead-lettered as an unknown recipient (and can be replayed after a fix)."""
    directory = signing_directory(acme=base64_der(acme_key))
    headers, body = post_to("x@nowhere.example")
    assert gateway.post(directory, body, {**headers, **BASIC})[0] == 401
    status, text = gateway.post(directory, body, {**headers, **BASIC, **signed(acme_key, body)})
    assert status == 200, text
    assert gateway.kinds == ["deadletter"]


def test_route_refuses_when_the_tenants_key_is_not_a_key(gateway: Gateway) -> None:
    """A misconfigured key fails closed: 401, and the reason names the key."""
    headers, body = post_to("inbound@inbound.example.com")
    status, text = gateway.post(signing_directory(acme="not-a-key"), body, {**headers, **BASIC})
    assert status == 401
    assert "sendgrid_public_key" in text
    assert gateway.kinds == []
