"""Twilio: signatures (SDK vectors T1-T9, v1.1 HMAC-SHA256 signing keys), tenant lookup,
message / status normalisation, consent and what is left unread."""

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

from contracts import (
    AttachmentKind,
    Channel,
    ConsentEvent,
    ConsentStatus,
    ConsentTopic,
    ContentType,
    DeliveryStatus,
    Direction,
    MessageEvent,
    Settings,
    StatusEvent,
    TenantDirectory,
    change_event_id,
    message_event_id,
    parse_tenants,
    status_event_id,
)
from ingest.errors import EXCEPTION_HANDLERS
from ingest.webhooks.channels import twilio
from ingest.webhooks.channels import twilio_signing as signing
from ingest.webhooks.channels.base import ParseError, ParseResult
from ingest.webhooks.pipeline import Ingestor
from ingest.webhooks.twilio import TwilioWebhooks
from tests.conftest import provider_fixture
from tests.fakes import MemoryPublisher
from tests.unit.ingest.webhooks.channels.adapter_helpers import RECEIVED_AT, make_context

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]
WEBHOOK_URL = "https://threadline.example/webhooks/sms/twilio"
ACME_TOKEN = "12345"


def sign(*, url: str, body: bytes, token: str = ACME_TOKEN, algorithm: str = "sha1") -> str:
    """Twilio's algorithm written out independently: sorted names, sorted unique values.

    With a JSON body (``bodySHA256`` in ``url``) pass ``body=b""``: only the URL is signed.
    """
    params = parse_qsl(body.decode(), keep_blank_values=True)
    signed = url
    for name in sorted({name for name, _ in params}):
        for value in sorted({value for key, value in params if key == name}):
            signed += name + value
    digest = hmac.new(token.encode(), signed.encode(), algorithm).digest()
    return base64.b64encode(digest).decode()


def signed_headers(signature: str) -> dict[str, str]:
    return {"x-twilio-signature": signature, "content-type": "application/x-www-form-urlencoded"}


def twilio_form(**fields: str | None) -> bytes:
    """An inbound SMS to acme, with ``fields`` replacing (or, when None, removing) defaults."""
    values: dict[str, str | None] = {
        "ToCountry": "US",
        "SmsMessageSid": "SM00000000000000000000000000000001",
        "NumMedia": "0",
        "ToCity": "",
        "SmsSid": "SM00000000000000000000000000000001",
        "SmsStatus": "received",
        "Body": "Hello",
        "To": "+13177933221",
        "MessageSid": "SM00000000000000000000000000000001",
        "AccountSid": "AC7ef44158dbb01b972d64d7e5c851c8d7",
        "From": "+13177592786",
        "ApiVersion": "2010-04-01",
    }
    values.update(fields)
    return urlencode({name: value for name, value in values.items() if value is not None}).encode()


def parse_one(raw: bytes, tenants: TenantDirectory) -> MessageEvent | StatusEvent:
    result = twilio.parse(raw, {}, make_context(tenants=tenants))
    assert result.problems == []
    [event] = result.events
    assert isinstance(event, MessageEvent | StatusEvent)
    return event


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "signature"),
    [
        pytest.param(VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", id="T1"),
        pytest.param(VECTOR_URL, VECTOR_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=", id="T2"),
        pytest.param(
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            VECTOR_PARAMS,
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            id="T3",
        ),
        pytest.param(
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            VECTOR_PARAMS,
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
            id="T4",
        ),
        pytest.param(
            VECTOR_URL,
            [
                ("Sid", "CA123"),
                ("SidAccount", "AC123"),
                ("Digits", "5678"),
                ("Digits", "1234"),
                ("Digits", "1234"),
            ],
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
            id="T5",
        ),
        pytest.param(
            VECTOR_URL,
            [
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ],
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
            id="T6",
        ),
    ],
)
def test_sdk_form_vectors_verify(url: str, params: list[tuple[str, str]], signature: str) -> None:
    """Each twilio-python / docs form vector verifies (T2 and T3 through the added default port)."""
    raw = urlencode(params).encode()
    assert signing.verify(raw, signed_headers(signature), url, "12345")


def test_signature_over_explicit_default_port_verifies_without_it() -> None:
    """A signature computed over ``:443`` is accepted when the URL is configured without it."""
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    raw = urlencode(VECTOR_PARAMS).encode()
    assert signing.verify(raw, signed_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8="), url, "12345")


def test_non_default_port_is_never_dropped() -> None:
    """The T4 signature, made over ``:1234``, is refused for the URL without that port."""
    raw = urlencode(VECTOR_PARAMS).encode()
    url = "http://mycompany.com/myapp.php?foo=1&bar=2"
    assert not signing.verify(raw, signed_headers("Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), url, "12345")


@pytest.mark.parametrize(
    ("url", "body", "signature"),
    [
        pytest.param(
            VECTOR_URL
            + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
            b'{"property": "value", "boolean": true}',
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            id="T7",
        ),
        pytest.param(
            "https://mycompany.com/myapp.php"
            "?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
            b'{"property": "value", "boolean": true}',
            "y77kIzt2vzLz71DgmJGsen2scGs=",
            id="T8",
        ),
        pytest.param(
            VECTOR_URL
            + "&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            b"{}",
            "Ldidvp12m26NI7eqEvxnEpkd9Hc=",
            id="T9",
        ),
    ],
)
def test_sdk_body_hash_vectors_verify(url: str, body: bytes, signature: str) -> None:
    """JSON-bodied vectors verify through bodySHA256 (T9 only over the URL with ``:443``)."""
    assert signing.verify(body, {"x-twilio-signature": signature}, url, "12345")


def test_body_hash_mismatch_fails() -> None:
    """A JSON body that does not hash to the URL's bodySHA256 is refused."""
    url = (
        VECTOR_URL + "&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    headers = {"x-twilio-signature": "Ldidvp12m26NI7eqEvxnEpkd9Hc="}
    assert not signing.verify(b'{"a":1}', headers, url, "12345")


def test_recorded_inbound_verifies_with_its_empty_params() -> None:
    """A recorded inbound SMS signs its empty ``ToCity=`` / ``ToZip=`` params too."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url=WEBHOOK_URL, body=raw)
    assert signing.verify(raw, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_form_signed_over_default_port_verifies_for_url_without_it() -> None:
    """A form webhook signed over ``:443`` (T9's port behaviour) verifies for the bare URL."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url="https://threadline.example:443/webhooks/sms/twilio", body=raw)
    assert signing.verify(raw, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_tampered_param_fails() -> None:
    """Changing one parameter after signing invalidates the signature."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url=WEBHOOK_URL, body=raw)
    tampered = raw.replace(b"Body=Hi+there", b"Body=Hi+thore")
    assert not signing.verify(tampered, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_dropped_empty_param_fails() -> None:
    """Removing an empty parameter changes what was signed."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url=WEBHOOK_URL, body=raw)
    tampered = raw.replace(b"&ToCity=", b"")
    assert not signing.verify(tampered, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_missing_signature_header_fails() -> None:
    """A request without X-Twilio-Signature is refused."""
    raw = provider_fixture("twilio_inbound_sms.form")
    assert not signing.verify(raw, {}, WEBHOOK_URL, ACME_TOKEN)


def test_wrong_token_or_url_fails() -> None:
    """The signature binds both the auth token and the URL."""
    raw = provider_fixture("twilio_inbound_sms.form")
    headers = signed_headers(sign(url=WEBHOOK_URL, body=raw))
    assert not signing.verify(raw, headers, WEBHOOK_URL, "another-token")
    assert not signing.verify(raw, headers, WEBHOOK_URL + "?x=1", ACME_TOKEN)


def test_undecodable_body_fails_verification() -> None:
    """A body that is not UTF-8 form data is refused, not raised."""
    assert not signing.verify(b"Body=\xff", signed_headers("abc="), WEBHOOK_URL, ACME_TOKEN)


# --- tenant lookup ------------------------------------------------------------------------


def test_account_sid_is_read_from_the_body() -> None:
    """``account_sid`` returns the AccountSid, or None when the request has none."""
    assert twilio.account_sid(provider_fixture("twilio_inbound_sms.form")) == (
        "AC7ef44158dbb01b972d64d7e5c851c8d7"
    )
    assert (
        twilio.account_sid(provider_fixture("twilio_status_callback_failed_courier_test.form"))
        is None
    )


def test_find_tenant_by_account_sid(tenants: TenantDirectory) -> None:
    """A request naming a known AccountSid belongs to that account's tenant."""
    tenant = twilio.find_tenant(provider_fixture("twilio_status_callback.form"), tenants)
    assert tenant is not None
    assert tenant.id == "acme"


def test_find_tenant_by_own_number_without_account_sid(tenants: TenantDirectory) -> None:
    """A status callback without AccountSid is matched by the tenant's number in To/From."""
    raw = provider_fixture("twilio_status_callback_failed_courier_test.form")
    assert twilio.numbers(raw) == ["+12028831111"]
    tenant = twilio.find_tenant(raw, tenants)
    assert tenant is not None
    assert tenant.id == "globex"


def test_find_tenant_strips_whatsapp_prefix(tenants: TenantDirectory) -> None:
    """``whatsapp:+1…`` numbers are compared without their prefix."""
    raw = twilio_form(AccountSid=None, To="whatsapp:+13177933221", From="whatsapp:+14155550100")
    tenant = twilio.find_tenant(raw, tenants)
    assert tenant is not None
    assert tenant.id == "acme"


def test_find_tenant_unknown(tenants: TenantDirectory) -> None:
    """An unknown account with unknown numbers has no tenant."""
    raw = twilio_form(AccountSid="AC_unknown", To="+15005550006")
    assert twilio.find_tenant(raw, tenants) is None


# --- inbound messages ---------------------------------------------------------------------


def test_recorded_inbound_sms(tenants: TenantDirectory) -> None:
    """The recorded inbound SMS becomes an inbound sms MessageEvent for acme."""
    event = parse_one(provider_fixture("twilio_inbound_sms.form"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.SMS
    assert event.provider == "twilio"
    assert event.direction is Direction.INBOUND
    assert event.provider_message_id == "SMa741ddeb574e5dda5516c73417fcd28a"
    assert event.event_id == message_event_id("sms", "twilio", "SMa741ddeb574e5dda5516c73417fcd28a")
    assert event.occurred_at == RECEIVED_AT
    assert event.received_at == RECEIVED_AT
    assert event.participant.channel_user_id == "+13177592786"
    assert event.participant.phone == "+13177592786"
    assert event.business.channel_account_id == "+13177933221"
    assert event.content.type is ContentType.TEXT
    assert event.content.text == "Hi there from Twilio"
    assert event.content.attachments == []
    assert event.email is None


def test_recorded_mms_without_content_types(tenants: TenantDirectory) -> None:
    """Two MediaUrls without content types give two attachments of unknown kind, no image guess."""
    event = parse_one(provider_fixture("twilio_inbound_mms_courier_test.form"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.tenant_id == "globex"
    assert [item.url for item in event.content.attachments] == ["cat.jpg", "dog.jpg"]
    assert {item.kind for item in event.content.attachments} == {AttachmentKind.OTHER}
    assert event.content.type is ContentType.DOCUMENT
    assert event.content.text == "Msg"


def test_mms_with_two_media_gives_two_typed_attachments(tenants: TenantDirectory) -> None:
    """MediaContentTypeN sets each attachment's mime and kind; the first media sets the type."""
    raw = twilio_form(
        NumMedia="2",
        Body="",
        MediaUrl0="https://api.twilio.com/media/ME0",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/media/ME1",
        MediaContentType1="video/mp4",
    )
    event = parse_one(raw, tenants)
    assert isinstance(event, MessageEvent)
    attachments = event.content.attachments
    assert [(item.kind, item.mime_type, item.url) for item in attachments] == [
        (AttachmentKind.IMAGE, "image/jpeg", "https://api.twilio.com/media/ME0"),
        (AttachmentKind.VIDEO, "video/mp4", "https://api.twilio.com/media/ME1"),
    ]
    assert event.content.type is ContentType.IMAGE
    assert event.content.text is None


def test_non_media_mime_is_a_document(tenants: TenantDirectory) -> None:
    """A vCard or PDF is a document attachment."""
    raw = twilio_form(NumMedia="1", MediaUrl0="https://m/0", MediaContentType0="text/vcard")
    event = parse_one(raw, tenants)
    assert isinstance(event, MessageEvent)
    assert event.content.attachments[0].kind is AttachmentKind.DOCUMENT
    assert event.content.type is ContentType.DOCUMENT


def test_recorded_whatsapp_message(tenants: TenantDirectory) -> None:
    """``From=whatsapp:+1…`` is channel whatsapp, provider twilio, prefix removed."""
    event = parse_one(provider_fixture("twilio_inbound_whatsapp_courier_test.form"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.channel is Channel.WHATSAPP
    assert event.provider == "twilio"
    assert event.participant.channel_user_id == "+14133881111"
    assert event.participant.user_id is None
    assert event.business.channel_account_id == "+12028831111"
    assert event.event_id == message_event_id(
        "whatsapp", "twilio", "SMe287d7109a5a925f182f0e07fe5b223b"
    )


def test_recorded_whatsapp_bsuid_relay(tenants: TenantDirectory) -> None:
    """``ExternalUserId=whatsapp:US.1234`` becomes the participant's business-scoped user id."""
    event = parse_one(provider_fixture("twilio_inbound_whatsapp_bsuid_courier_test.form"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.participant.user_id == "US.1234"
    assert event.participant.phone == "+14133881111"


def test_whatsapp_user_without_phone_is_known_by_user_id(tenants: TenantDirectory) -> None:
    """A WhatsApp user with only a business-scoped id gets it as channel_user_id."""
    raw = twilio_form(From="", To="whatsapp:+13177933221", ExternalUserId="whatsapp:US.99")
    event = parse_one(raw, tenants)
    assert isinstance(event, MessageEvent)
    assert event.channel is Channel.WHATSAPP
    assert event.participant.channel_user_id == "US.99"
    assert event.participant.phone is None


def test_profile_name_and_short_code(tenants: TenantDirectory) -> None:
    """ProfileName is the display name; a short code keeps its raw value and has no phone."""
    event = parse_one(twilio_form(From="72345", ProfileName="Ann"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.participant.channel_user_id == "72345"
    assert event.participant.phone is None
    assert event.participant.display_name == "Ann"


def test_reference_in_body(tenants: TenantDirectory) -> None:
    """Booking codes matching the tenant's pattern are extracted from the body."""
    event = parse_one(twilio_form(Body="About ABC-123456 please"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.references == ["ABC-123456"]


def test_same_body_twice_gives_same_event_id(tenants: TenantDirectory) -> None:
    """Parsing the same request twice yields the same event id."""
    raw = provider_fixture("twilio_inbound_sms.form")
    assert parse_one(raw, tenants).event_id == parse_one(raw, tenants).event_id


def test_legacy_sid_fallback(tenants: TenantDirectory) -> None:
    """Without MessageSid the legacy SmsMessageSid is the message id."""
    event = parse_one(twilio_form(MessageSid=None, SmsMessageSid="SMlegacy"), tenants)
    assert event.provider_message_id == "SMlegacy"


def test_missing_sid_is_a_parse_error(tenants: TenantDirectory) -> None:
    """A message with no sid at all cannot be normalised."""
    raw = twilio_form(MessageSid=None, SmsMessageSid=None, SmsSid=None)
    with pytest.raises(ParseError):
        twilio.parse(raw, {}, make_context(tenants=tenants))


def test_missing_sender_is_a_parse_error(tenants: TenantDirectory) -> None:
    """A message without From (and no user id) cannot be normalised."""
    with pytest.raises(ParseError):
        twilio.parse(twilio_form(From=None), {}, make_context(tenants=tenants))


def test_undecodable_body_is_a_parse_error(tenants: TenantDirectory) -> None:
    """A body that is not UTF-8 is a request-level failure."""
    with pytest.raises(ParseError):
        twilio.parse(b"Body=\xff\xfe", {}, make_context(tenants=tenants))


def test_unknown_account_is_a_problem(tenants: TenantDirectory) -> None:
    """A request for no known tenant yields a problem and no event."""
    raw = twilio_form(AccountSid="AC_unknown", To="+15005550006")
    result = twilio.parse(raw, {}, make_context(tenants=tenants))
    assert result.events == []
    assert result.problems == [
        "unknown Twilio account (AccountSid AC_unknown, numbers +15005550006, +13177592786)"
    ]


# --- status callbacks ---------------------------------------------------------------------


def test_recorded_status_sent(tenants: TenantDirectory) -> None:
    """``MessageStatus=sent`` is a sent StatusEvent about the recipient (To)."""
    event = parse_one(provider_fixture("twilio_status_callback.form"), tenants)
    assert isinstance(event, StatusEvent)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.SMS
    assert event.status is DeliveryStatus.SENT
    assert event.provider_message_id == "SM7ac25b8b7f04410093ff54e1fd2b4256"
    assert event.event_id == status_event_id(
        "sms", "twilio", "SM7ac25b8b7f04410093ff54e1fd2b4256", "sent"
    )
    assert event.participant.channel_user_id == "+13177933221"
    assert event.occurred_at == RECEIVED_AT
    assert event.error is None


def test_recorded_status_failed_stop(tenants: TenantDirectory) -> None:
    """Error 21610 without AccountSid is a failed status explaining the STOP reply."""
    event = parse_one(provider_fixture("twilio_status_callback_failed_courier_test.form"), tenants)
    assert isinstance(event, StatusEvent)
    assert event.tenant_id == "globex"
    assert event.status is DeliveryStatus.FAILED
    assert event.error is not None
    assert event.error.code == "21610"
    assert event.error.title == "recipient unsubscribed (replied STOP)"


def status_form(**fields: str | None) -> bytes:
    """An outbound status callback from acme's number to a customer."""
    base: dict[str, str | None] = {
        "Body": None,
        "NumMedia": None,
        "SmsStatus": None,
        "MessageStatus": "delivered",
        "From": "+13177933221",
        "To": "+13177592786",
        "MessageSid": "SMout",
    }
    base.update(fields)
    return twilio_form(**base)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("sent", "sent"), ("delivered", "delivered"), ("read", "read")],
)
def test_progress_statuses(tenants: TenantDirectory, status: str, expected: str) -> None:
    """sent, delivered and read keep their names; the customer is To."""
    event = parse_one(status_form(MessageStatus=status), tenants)
    assert isinstance(event, StatusEvent)
    assert event.status == expected
    assert event.participant.phone == "+13177592786"
    assert event.error is None


def test_undelivered_with_error_message(tenants: TenantDirectory) -> None:
    """undelivered is failed, titled by Twilio's ErrorMessage when it sends one."""
    raw = status_form(MessageStatus="undelivered", ErrorCode="30003", ErrorMessage="Unreachable")
    event = parse_one(raw, tenants)
    assert isinstance(event, StatusEvent)
    assert event.status is DeliveryStatus.FAILED
    assert event.error is not None
    assert (event.error.code, event.error.title) == ("30003", "Unreachable")


def test_failed_without_error_code(tenants: TenantDirectory) -> None:
    """A failure without details still carries an error naming the status."""
    event = parse_one(status_form(MessageStatus="undelivered"), tenants)
    assert isinstance(event, StatusEvent)
    assert event.error is not None
    assert event.error.title == "undelivered"


def test_canceled_is_failed(tenants: TenantDirectory) -> None:
    """A canceled message is failed with title canceled."""
    event = parse_one(status_form(MessageStatus="canceled"), tenants)
    assert isinstance(event, StatusEvent)
    assert event.status is DeliveryStatus.FAILED
    assert event.error is not None
    assert event.error.title == "canceled"


@pytest.mark.parametrize("status", ["queued", "accepted", "scheduled", "sending"])
def test_pending_statuses_give_nothing(tenants: TenantDirectory, status: str) -> None:
    """Statuses before sent give neither an event nor a problem."""
    result = twilio.parse(status_form(MessageStatus=status), {}, make_context(tenants=tenants))
    assert result.events == []
    assert result.problems == []


def test_unknown_status_is_a_problem(tenants: TenantDirectory) -> None:
    """A status outside Twilio's known set is reported, not guessed."""
    result = twilio.parse(
        status_form(MessageStatus="teleported"), {}, make_context(tenants=tenants)
    )
    assert result.events == []
    assert result.problems == ["unknown Twilio message status 'teleported'"]


def test_whatsapp_status_callback(tenants: TenantDirectory) -> None:
    """A status for a WhatsApp message is channel whatsapp, customer without prefix."""
    raw = status_form(From="whatsapp:+13177933221", To="whatsapp:+13177592786")
    event = parse_one(raw, tenants)
    assert isinstance(event, StatusEvent)
    assert event.channel is Channel.WHATSAPP
    assert event.participant.channel_user_id == "+13177592786"


# --- v1.1: a directory of the tenants the recorded 2026-format payloads name --------------

RENTHERO_INBOUND = "twilio_inbound_sms_messaging_service_addons_renthero.form"
RENTHERO_STATUS = "twilio_status_sent_messaging_service_renthero.form"
APOTEK_REPLY = "twilio_inbound_whatsapp_interactive_reply_apotek.form"
RENTHERO_SERVICE = "MG4f645b25e4396614a92e6377ba73aff2"
RENTHERO_TOKEN = "renthero-auth-token"
RENTHERO_KEY = "renthero-shared-key-secret"
SETTINGS_SHA256 = {signing.SIGNATURE_SETTINGS_HEADER: "key=WK0123,algorithm=HMAC_SHA256"}


def v11_directory(
    *, renthero_key: str | None = RENTHERO_KEY, keywords: bool = True
) -> TenantDirectory:
    """renthero is found only by its Messaging Service (the recorded AccountSid is no
    tenant's) and may have a signing key; apotek by its AccountSid; initech by its number,
    written nationally, and with ``sms_keyword_opt_out`` as given."""
    key_line = (
        "" if renthero_key is None else f"twilio_webhook_signing_key = {json.dumps(renthero_key)}\n"
    )
    return parse_tenants(
        '[[tenants]]\nid = "renthero"\nname = "RentHero"\ndefault_region = "CA"\n'
        f'twilio_messaging_service_sids = ["{RENTHERO_SERVICE}"]\n'
        f'twilio_auth_token = "{RENTHERO_TOKEN}"\n'
        + key_line
        + '\n[[tenants]]\nid = "apotek"\nname = "Apotek"\ndefault_region = "ID"\n'
        'twilio_account_sid = "ACefb707f7c4ce4d15bc4261fd1d5ed615"\n'
        'twilio_auth_token = "apotek-auth-token"\n'
        '\n[[tenants]]\nid = "initech"\nname = "Initech"\ndefault_region = "US"\n'
        'sms_numbers = ["(415) 555-0199"]\ntwilio_auth_token = "initech-auth-token"\n'
        f"sms_keyword_opt_out = {str(keywords).lower()}\n",
        environ={},
    )


def renthero_form(**fields: str | None) -> bytes:
    """The recorded RentHero inbound SMS without its AddOns, ``fields`` replacing (or, when
    None, removing) what it carries."""
    values: dict[str, str | None] = dict(
        parse_qsl(provider_fixture(RENTHERO_INBOUND).decode(), keep_blank_values=True)
    )
    values["AddOns"] = None
    values.update(fields)
    return urlencode({name: value for name, value in values.items() if value is not None}).encode()


def parse_all(raw: bytes, tenants: TenantDirectory) -> ParseResult:
    return twilio.parse(raw, {}, make_context(tenants=tenants))


def message_and_consent(raw: bytes, tenants: TenantDirectory) -> tuple[MessageEvent, ConsentEvent]:
    result = parse_all(raw, tenants)
    assert result.problems == []
    message, consent = result.events
    assert isinstance(message, MessageEvent)
    assert isinstance(consent, ConsentEvent)
    return message, consent


def only_message(raw: bytes, tenants: TenantDirectory) -> MessageEvent:
    result = parse_all(raw, tenants)
    assert result.problems == []
    [message] = result.events
    assert isinstance(message, MessageEvent)
    return message


# --- v1.1 signatures: HMAC-SHA256 (or -SHA1) under the tenant's signing key -----------------


def test_settings_signature_verifies_with_the_signing_key() -> None:
    """With X-Twilio-Webhooks-Signature-Settings naming HMAC_SHA256, the recorded inbound SMS
    signed with the tenant's signing key verifies."""
    raw = provider_fixture(RENTHERO_INBOUND)
    signature = sign(url=WEBHOOK_URL, body=raw, token=RENTHERO_KEY, algorithm="sha256")
    headers = {**signed_headers(signature), **SETTINGS_SHA256}
    assert signing.verify(raw, headers, WEBHOOK_URL, RENTHERO_TOKEN, RENTHERO_KEY)


@pytest.mark.parametrize(
    ("token", "algorithm", "settings", "body", "url"),
    [
        pytest.param("another-key", "sha256", SETTINGS_SHA256, None, WEBHOOK_URL, id="wrong-key"),
        pytest.param(
            RENTHERO_KEY, "sha256", SETTINGS_SHA256, b"Body=Hi", WEBHOOK_URL, id="tampered-body"
        ),
        pytest.param(
            RENTHERO_KEY, "sha256", SETTINGS_SHA256, None, WEBHOOK_URL + "?x=1", id="other-url"
        ),
        pytest.param(
            RENTHERO_TOKEN, "sha1", SETTINGS_SHA256, None, WEBHOOK_URL, id="auth-token-sha1"
        ),
        pytest.param(
            RENTHERO_TOKEN, "sha256", SETTINGS_SHA256, None, WEBHOOK_URL, id="auth-token-sha256"
        ),
        pytest.param(RENTHERO_KEY, "sha256", {}, None, WEBHOOK_URL, id="no-settings-header"),
        pytest.param(RENTHERO_KEY, "sha1", SETTINGS_SHA256, None, WEBHOOK_URL, id="key-sha1"),
    ],
)
def test_settings_signature_refusals(
    token: str, algorithm: str, settings: dict[str, str], body: bytes | None, url: str
) -> None:
    """A wrong key, a tampered body, another URL, the auth token in place of the key, a
    signing-key signature without the settings header, or another algorithm than the one
    named: refused."""
    raw = provider_fixture(RENTHERO_INBOUND)
    signature = sign(url=WEBHOOK_URL, body=raw, token=token, algorithm=algorithm)
    headers = {**signed_headers(signature), **settings}
    assert not signing.verify(body or raw, headers, url, RENTHERO_TOKEN, RENTHERO_KEY)


def test_settings_header_without_a_signature_is_refused() -> None:
    """The settings header alone, without X-Twilio-Signature, is refused."""
    raw = provider_fixture(RENTHERO_INBOUND)
    assert not signing.verify(raw, SETTINGS_SHA256, WEBHOOK_URL, RENTHERO_TOKEN, RENTHERO_KEY)


def test_settings_header_for_a_tenant_without_a_signing_key_is_refused() -> None:
    """When the header asks for a signing key the tenant has none: refused, never checked
    against the auth token instead (whichever algorithm it was signed with)."""
    raw = provider_fixture(RENTHERO_INBOUND)
    for algorithm in ("sha256", "sha1"):
        signature = sign(url=WEBHOOK_URL, body=raw, token=RENTHERO_TOKEN, algorithm=algorithm)
        headers = {**signed_headers(signature), **SETTINGS_SHA256}
        assert not signing.verify(raw, headers, WEBHOOK_URL, RENTHERO_TOKEN, None)


def test_settings_may_name_hmac_sha1_under_the_signing_key() -> None:
    """A Webhook Setting with HMAC_SHA1 signs with the SharedKey's secret, not the auth token."""
    raw = provider_fixture(RENTHERO_INBOUND)
    settings = {signing.SIGNATURE_SETTINGS_HEADER: "key=WK0123,algorithm=HMAC_SHA1"}
    by_key = {**signed_headers(sign(url=WEBHOOK_URL, body=raw, token=RENTHERO_KEY)), **settings}
    by_token = {**signed_headers(sign(url=WEBHOOK_URL, body=raw, token=RENTHERO_TOKEN)), **settings}
    assert signing.verify(raw, by_key, WEBHOOK_URL, RENTHERO_TOKEN, RENTHERO_KEY)
    assert not signing.verify(raw, by_token, WEBHOOK_URL, RENTHERO_TOKEN, RENTHERO_KEY)


@pytest.mark.parametrize(
    "settings", ["key=WK0123,algorithm=HMAC_SHA512", "key=WK0123", "algorithm=", "HMAC_SHA256"]
)
def test_unknown_or_unnamed_algorithm_is_refused(settings: str) -> None:
    """A settings header naming no algorithm this service knows is refused, even when the
    signature is a good HMAC-SHA256 one."""
    raw = provider_fixture(RENTHERO_INBOUND)
    signature = sign(url=WEBHOOK_URL, body=raw, token=RENTHERO_KEY, algorithm="sha256")
    headers = {**signed_headers(signature), signing.SIGNATURE_SETTINGS_HEADER: settings}
    assert not signing.verify(raw, headers, WEBHOOK_URL, RENTHERO_TOKEN, RENTHERO_KEY)


@pytest.mark.parametrize(
    ("settings", "algorithm"),
    [
        ("key=WK0123,algorithm=HMAC_SHA256", "sha256"),
        ("algorithm=HMAC_SHA256,key=WK0123", "sha256"),
        (" key = WK0123 , Algorithm = hmac-sha256 ", "sha256"),
        ("key=,algorithm=HMAC_SHA1", "sha1"),
        ("key=WK0123,algorithm=HMAC_SHA512", None),
        ("key=WK0123", None),
    ],
)
def test_signature_algorithm_reads_the_settings_header(
    settings: str, algorithm: str | None
) -> None:
    """``algorithm=`` is read whatever its place, spacing or case; others are not known."""
    assert signing.signature_algorithm(settings) == algorithm


def test_blank_settings_header_means_the_auth_token() -> None:
    """An empty settings header is no settings header (as twilio-node reads it): HMAC-SHA1
    with the auth token."""
    raw = provider_fixture("twilio_inbound_sms.form")
    headers = {
        **signed_headers(sign(url=WEBHOOK_URL, body=raw)),
        signing.SIGNATURE_SETTINGS_HEADER: " ",
    }
    assert signing.verify(raw, headers, WEBHOOK_URL, ACME_TOKEN, None)


def test_sha256_signature_over_the_default_port_verifies() -> None:
    """The default-port rule holds under a signing key too."""
    raw = provider_fixture(RENTHERO_INBOUND)
    url = "https://threadline.example:443/webhooks/sms/twilio"
    signature = sign(url=url, body=raw, token=RENTHERO_KEY, algorithm="sha256")
    headers = {**signed_headers(signature), **SETTINGS_SHA256}
    assert signing.verify(raw, headers, WEBHOOK_URL, RENTHERO_TOKEN, RENTHERO_KEY)


def test_sha256_signature_of_a_json_body_goes_through_its_hash() -> None:
    """A JSON body signed under a signing key: the URL with bodySHA256 is signed; another body
    is refused."""
    body = b'{"property": "value", "boolean": true}'
    url = WEBHOOK_URL + "?bodySHA256=" + hashlib.sha256(body).hexdigest()
    signature = sign(url=url, body=b"", token=RENTHERO_KEY, algorithm="sha256")
    headers = {**signed_headers(signature), **SETTINGS_SHA256}
    assert signing.verify(body, headers, url, RENTHERO_TOKEN, RENTHERO_KEY)
    assert not signing.verify(b'{"property": "other"}', headers, url, RENTHERO_TOKEN, RENTHERO_KEY)


def test_an_empty_secret_signs_nothing() -> None:
    """A tenant whose auth token or key is empty accepts nothing, not a signature anyone can
    make with the empty key."""
    raw = provider_fixture("twilio_inbound_sms.form")
    assert not signing.verify(
        raw, signed_headers(sign(url=WEBHOOK_URL, body=raw, token="")), WEBHOOK_URL, ""
    )
    keyed = {
        **signed_headers(sign(url=WEBHOOK_URL, body=raw, token="", algorithm="sha256")),
        **SETTINGS_SHA256,
    }
    assert not signing.verify(raw, keyed, WEBHOOK_URL, ACME_TOKEN, "")


# --- bodySHA256 ---------------------------------------------------------------------------


def test_body_hash_vector_refuses_another_token() -> None:
    """T7's JSON body and URL verify with its token only."""
    url = (
        VECTOR_URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    )
    body = b'{"property": "value", "boolean": true}'
    headers = {"x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4="}
    assert signing.verify(body, headers, url, "12345")
    assert not signing.verify(body, headers, url, "54321")


def test_another_body_with_its_own_hash_breaks_the_signature() -> None:
    """Swapping the body and the bodySHA256 that matches it changes the signed URL: refused."""
    body = b'{"a":1}'
    url = VECTOR_URL + "&bodySHA256=" + hashlib.sha256(body).hexdigest()
    headers = {"x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4="}  # T7's, for its own body
    assert not signing.verify(body, headers, url, "12345")


def test_body_hash_without_a_signature_is_refused() -> None:
    """T7 without X-Twilio-Signature is refused although its body matches bodySHA256."""
    url = (
        VECTOR_URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    )
    assert not signing.verify(b'{"property": "value", "boolean": true}', {}, url, "12345")


# --- v1.1 tenant lookup: AccountSid, then MessagingServiceSid, then To ----------------------


def test_find_tenant_by_messaging_service() -> None:
    """The recorded RentHero requests name an AccountSid no tenant has; their
    MessagingServiceSid is renthero's."""
    directory = v11_directory()
    for name in (RENTHERO_INBOUND, RENTHERO_STATUS):
        tenant = twilio.find_tenant(provider_fixture(name), directory)
        assert tenant is not None
        assert tenant.id == "renthero"


def test_account_sid_comes_before_messaging_service() -> None:
    """A known AccountSid decides even when the Messaging Service is another tenant's."""
    raw = renthero_form(AccountSid="ACefb707f7c4ce4d15bc4261fd1d5ed615")
    tenant = twilio.find_tenant(raw, v11_directory())
    assert tenant is not None
    assert tenant.id == "apotek"


def test_messaging_service_comes_before_the_number() -> None:
    """A Messaging Service decides even when To is another tenant's number."""
    raw = renthero_form(To="+14155550199")
    tenant = twilio.find_tenant(raw, v11_directory())
    assert tenant is not None
    assert tenant.id == "renthero"


@pytest.mark.parametrize("to", ["+14155550199", "whatsapp:+14155550199"])
def test_find_tenant_by_to_in_e164(to: str) -> None:
    """Without a known AccountSid or Messaging Service, To (WhatsApp prefix removed) is
    compared in E.164 with the numbers the tenant wrote nationally."""
    raw = renthero_form(MessagingServiceSid="MGunknown", To=to)
    tenant = twilio.find_tenant(raw, v11_directory())
    assert tenant is not None
    assert tenant.id == "initech"


def test_unknown_messaging_service_and_number_is_no_tenant() -> None:
    """Nothing known: no tenant, and parse reports it."""
    raw = renthero_form(MessagingServiceSid="MGunknown")
    assert twilio.find_tenant(raw, v11_directory()) is None
    assert parse_all(raw, v11_directory()).problems[0].startswith("unknown Twilio account")


def test_recorded_messaging_service_status_callback() -> None:
    """The recorded status callback of a Messaging Service is renthero's sent status."""
    [event] = parse_all(provider_fixture(RENTHERO_STATUS), v11_directory()).events
    assert isinstance(event, StatusEvent)
    assert event.tenant_id == "renthero"
    assert event.status is DeliveryStatus.SENT
    assert event.participant.phone == "+16475286355"


# --- v1.1 reply target, business-scoped user id, buttons ------------------------------------


def test_recorded_whatsapp_interactive_reply() -> None:
    """The recorded WhatsApp button reply: its reply target, its ExternalUserId as the user id
    beside the phone, the button's title and payload."""
    message = only_message(provider_fixture(APOTEK_REPLY), v11_directory())
    assert message.tenant_id == "apotek"
    assert message.channel is Channel.WHATSAPP
    assert message.content.reply_to_provider_message_id == "MM5cc44eecf7dab0d48d4529d0fa4af44d"
    assert message.participant.user_id == "ID.4566546130240823"
    assert message.participant.phone == "+6285176810035"
    assert message.participant.channel_user_id == "+6285176810035"
    assert message.participant.display_name == "teknisee"
    assert message.content.type is ContentType.INTERACTIVE
    assert message.content.text == "Konfirmasi"
    assert message.content.payload == "{verifyEmail:asd@asd.com}"


def test_sms_reply_target() -> None:
    """OriginalRepliedMessageSid is the reply target on SMS too; without it there is none."""
    raw = renthero_form(OriginalRepliedMessageSid="SMoriginal")
    assert only_message(raw, v11_directory()).content.reply_to_provider_message_id == "SMoriginal"
    assert (
        only_message(renthero_form(), v11_directory()).content.reply_to_provider_message_id is None
    )


def test_recorded_whatsapp_from_a_user_id_only(tenants: TenantDirectory) -> None:
    """``From=whatsapp:US.1234`` (no phone shown): known by the user id, no phone."""
    event = parse_one(
        provider_fixture("twilio_inbound_whatsapp_from_bsuid_courier_test.form"), tenants
    )
    assert isinstance(event, MessageEvent)
    assert event.participant.channel_user_id == "US.1234"
    assert event.participant.user_id == "US.1234"
    assert event.participant.phone is None


def test_whatsapp_from_a_user_id_without_external_user_id(tenants: TenantDirectory) -> None:
    """A WhatsApp From that is no phone is the user id even when ExternalUserId is absent;
    on SMS a short code stays a plain address."""
    raw = twilio_form(From="whatsapp:US.99", To="whatsapp:+13177933221")
    event = parse_one(raw, tenants)
    assert isinstance(event, MessageEvent)
    assert (event.participant.channel_user_id, event.participant.user_id) == ("US.99", "US.99")
    sms = parse_one(twilio_form(From="72345"), tenants)
    assert sms.participant.user_id is None


def test_recorded_whatsapp_template_button(tenants: TenantDirectory) -> None:
    """A template quick reply (ButtonText, no MessageType): a button message titled by it."""
    event = parse_one(provider_fixture("twilio_inbound_whatsapp_button_courier_test.form"), tenants)
    assert isinstance(event, MessageEvent)
    assert event.content.type is ContentType.BUTTON
    assert event.content.text == "Confirm"
    assert event.content.payload is None


def test_whatsapp_location(tenants: TenantDirectory) -> None:
    """Latitude and Longitude make a location message named by Label and Address."""
    raw = twilio_form(
        Body="",
        MessageType="location",
        Latitude="37.7879277",
        Longitude="-122.3937508",
        Label="Twilio",
        Address="101 Spear St",
        From="whatsapp:+13177592786",
        To="whatsapp:+13177933221",
    )
    event = parse_one(raw, tenants)
    assert isinstance(event, MessageEvent)
    assert event.content.type is ContentType.LOCATION
    assert event.content.location is not None
    assert (event.content.location.latitude, event.content.location.longitude) == (
        37.7879277,
        -122.3937508,
    )
    assert event.content.text == "Twilio, 101 Spear St"


def test_whatsapp_ad_referral(tenants: TenantDirectory) -> None:
    """The Referral* fields of a click-to-WhatsApp ad become the content's referral."""
    raw = twilio_form(
        ReferralSourceType="ad",
        ReferralSourceId="120200",
        ReferralSourceUrl="https://fb.me/ad",
        ReferralHeadline="Spring tours",
        ReferralBody="Book now",
        ReferralCtwaClid="ARAkLkA8rmlF",
        ReferralNumMedia="0",
    )
    event = parse_one(raw, tenants)
    assert isinstance(event, MessageEvent)
    referral = event.content.referral
    assert referral is not None
    assert (referral.source_type, referral.source_id, referral.headline) == (
        "ad",
        "120200",
        "Spring tours",
    )
    assert referral.ctwa_clid == "ARAkLkA8rmlF"
    assert only_message(twilio_form(), tenants).content.referral is None


# --- v1.1 consent: OptOutType, and whole-body keywords without it ---------------------------


@pytest.mark.parametrize(
    ("opt_out_type", "body", "status"),
    [
        ("STOP", "STOP", ConsentStatus.REVOKED),
        ("START", "Start", ConsentStatus.GIVEN),
        # Advanced Opt-Out's custom keywords: OptOutType decides, whatever the body says.
        ("STOP", "arret", ConsentStatus.REVOKED),
        ("START", "STOP", ConsentStatus.GIVEN),
    ],
)
def test_opt_out_type_is_a_consent_event(
    opt_out_type: str, body: str, status: ConsentStatus
) -> None:
    """Besides its message, an OptOutType STOP or START is a consent event about every topic,
    for the message's participant and business, keyed by the MessageSid."""
    raw = renthero_form(OptOutType=opt_out_type, Body=body)
    message, consent = message_and_consent(raw, v11_directory())
    assert message.content.text == body
    assert consent.event_id == change_event_id(
        "consent", "sms", "twilio", "SMbf505253cd06a3991e7274ba563dcf6e"
    )
    assert consent.event_id != message.event_id
    assert (consent.tenant_id, consent.channel, consent.provider) == (
        "renthero",
        Channel.SMS,
        "twilio",
    )
    assert consent.status is status
    assert consent.topic is ConsentTopic.ALL
    assert consent.source == "twilio_opt_out_type"
    assert consent.keyword == body
    assert consent.provider_message_id == "SMbf505253cd06a3991e7274ba563dcf6e"
    assert consent.participant == message.participant
    assert consent.business == message.business
    assert consent.occurred_at == RECEIVED_AT


def test_opt_out_type_help_is_no_consent() -> None:
    """HELP changes no consent: only the message."""
    only_message(renthero_form(OptOutType="HELP", Body="help"), v11_directory())


def test_unknown_opt_out_type_is_a_problem() -> None:
    """An OptOutType this service does not know is named in problems; the message is kept."""
    result = parse_all(renthero_form(OptOutType="PAUSE", Body="pause"), v11_directory())
    assert result.problems == ["Twilio OptOutType 'PAUSE' is not read by this service"]
    assert [type(event) for event in result.events] == [MessageEvent]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        *[(word, ConsentStatus.REVOKED) for word in ("STOP", "stopall", "Unsubscribe", "CANCEL")],
        *[(word, ConsentStatus.REVOKED) for word in ("end", "QUIT", "OptOut", "revoke")],
        *[(word, ConsentStatus.GIVEN) for word in ("START", "unstop", "Yes")],
        ("  stop \n", ConsentStatus.REVOKED),
    ],
)
def test_whole_body_keyword_is_consent_without_opt_out_type(
    body: str, status: ConsentStatus
) -> None:
    """Without OptOutType, a body that is one of Twilio's default keywords (trimmed, any case)
    is consent, its keyword the body as written."""
    message, consent = message_and_consent(renthero_form(Body=body), v11_directory())
    assert consent.status is status
    assert consent.source == "sms_keyword"
    assert consent.keyword == body
    assert consent.event_id == change_event_id(
        "consent", "sms", "twilio", message.provider_message_id
    )


@pytest.mark.parametrize(
    "body", ["stop please", "Stop.", "please cancel", "HELP", "info", "", "yess"]
)
def test_other_bodies_are_no_consent(body: str) -> None:
    """Only the whole body counts, and HELP or INFO changes nothing."""
    only_message(renthero_form(Body=body), v11_directory())


def test_keywords_are_off_when_the_tenant_says_so() -> None:
    """With ``sms_keyword_opt_out = false`` a STOP body is only a message; OptOutType still
    counts."""
    directory = v11_directory(keywords=False)
    raw = renthero_form(MessagingServiceSid=None, To="+14155550199", Body="STOP")
    assert only_message(raw, directory).tenant_id == "initech"
    raw = renthero_form(MessagingServiceSid=None, To="+14155550199", Body="STOP", OptOutType="STOP")
    assert message_and_consent(raw, directory)[1].source == "twilio_opt_out_type"


def test_whatsapp_keyword_is_no_consent_but_opt_out_type_is(tenants: TenantDirectory) -> None:
    """A WhatsApp STOP without OptOutType is a message (the keywords are SMS's); with
    OptOutType the consent event is the WhatsApp channel's."""
    whatsapp = {"From": "whatsapp:+13177592786", "To": "whatsapp:+13177933221", "Body": "STOP"}
    only_message(twilio_form(**whatsapp), tenants)
    message, consent = message_and_consent(twilio_form(**whatsapp, OptOutType="STOP"), tenants)
    assert consent.channel is Channel.WHATSAPP
    assert consent.event_id == change_event_id(
        "consent", "whatsapp", "twilio", message.provider_message_id
    )


# --- what Twilio sends that this service does not read ------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "twilio_inbound_sms.form",
        "twilio_inbound_mms_courier_test.form",
        "twilio_inbound_whatsapp_courier_test.form",
        "twilio_inbound_whatsapp_bsuid_courier_test.form",
        "twilio_inbound_whatsapp_from_bsuid_courier_test.form",
        "twilio_inbound_whatsapp_button_courier_test.form",
        "twilio_status_callback.form",
        "twilio_status_callback_failed_courier_test.form",
        "twilio_status_sent_messaging_service_courier_test.form",
    ],
)
def test_recorded_payloads_leave_nothing_unread(name: str, tenants: TenantDirectory) -> None:
    """Every field of the recorded payloads is read or knowingly left unread."""
    assert parse_all(provider_fixture(name), tenants).problems == []


def test_recorded_add_ons_are_a_problem_and_the_message_is_kept() -> None:
    """The recorded AddOns (an IBM Watson sentiment result) has no meaning here: named in
    problems, so the request is dead-lettered as well as its message published."""
    result = parse_all(provider_fixture(RENTHERO_INBOUND), v11_directory())
    assert result.problems == ["Twilio fields this service does not read: AddOns"]
    [message] = result.events
    assert isinstance(message, MessageEvent)
    assert message.content.text == "Shsjsjskksk"


def test_unread_fields_are_named_in_order(tenants: TenantDirectory) -> None:
    """Several unread fields, status callbacks included, are named in one problem."""
    raw = status_form(ReferralMediaUrl="https://m/ad.jpg", Zeta="1", Alpha="2")
    result = twilio.parse(raw, {}, make_context(tenants=tenants))
    assert result.problems == [
        "Twilio fields this service does not read: Alpha, ReferralMediaUrl, Zeta"
    ]
    assert len(result.events) == 1


def test_unknown_message_type_is_a_problem(tenants: TenantDirectory) -> None:
    """A MessageType this service does not read is named; the message keeps its body."""
    result = twilio.parse(
        twilio_form(MessageType="reaction", Body="👍"), {}, make_context(tenants=tenants)
    )
    assert result.problems == ["Twilio MessageType 'reaction' is not read by this service"]
    [message] = result.events
    assert isinstance(message, MessageEvent)
    assert message.content.text == "👍"


@pytest.mark.parametrize(
    ("latitude", "longitude"), [("north", "1"), ("91", "0"), ("nan", "0"), ("", "")]
)
def test_unreadable_location_is_a_problem(
    latitude: str, longitude: str, tenants: TenantDirectory
) -> None:
    """A location whose coordinates cannot be read is a problem, not a guess."""
    raw = twilio_form(MessageType="location", Latitude=latitude, Longitude=longitude)
    result = twilio.parse(raw, {}, make_context(tenants=tenants))
    assert result.problems == ["Twilio location without a readable Latitude and Longitude"]
    [message] = result.events
    assert isinstance(message, MessageEvent)
    assert message.content.location is None


# --- the route: both signatures, lookup and consent through the gateway --------------------

GATEWAY_URL = "https://gateway.example.com/webhooks/sms/twilio"


class TwilioGateway:
    """The Twilio route over an in-memory publisher."""

    def __init__(self, directory: TenantDirectory) -> None:
        self.publisher = MemoryPublisher()
        self.ingestor = Ingestor(
            self.publisher, Settings(public_base_url="https://gateway.example.com"), directory
        )

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        app = Litestar(
            route_handlers=[TwilioWebhooks],
            dependencies={"ingestor": Provide(lambda: self.ingestor, sync_to_thread=False)},
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        )
        form = {"content-type": "application/x-www-form-urlencoded"}
        with TestClient(app=app) as client:
            return client.post(
                "/webhooks/sms/twilio", content=body, headers={**form, **headers}
            ).status_code

    @property
    def kinds(self) -> list[str]:
        return [record.kind for record in self.publisher.records]


def test_route_takes_a_request_signed_with_the_tenants_key() -> None:
    """Signed with renthero's key under the settings header: 200, message and dead letter
    (its AddOns) published."""
    gateway = TwilioGateway(v11_directory())
    raw = provider_fixture(RENTHERO_INBOUND)
    signature = sign(url=GATEWAY_URL, body=raw, token=RENTHERO_KEY, algorithm="sha256")
    assert gateway.post(raw, {"x-twilio-signature": signature, **SETTINGS_SHA256}) == 200
    assert gateway.kinds == ["message", "deadletter"]


def test_route_refuses_the_settings_header_for_a_tenant_without_a_key() -> None:
    """renthero without a signing key: a request whose settings header asks for one is 401,
    whether signed with the auth token or not, and nothing is published."""
    gateway = TwilioGateway(v11_directory(renthero_key=None))
    raw = renthero_form()
    for token, algorithm in (
        (RENTHERO_TOKEN, "sha256"),
        (RENTHERO_TOKEN, "sha1"),
        (RENTHERO_KEY, "sha256"),
    ):
        signature = sign(url=GATEWAY_URL, body=raw, token=token, algorithm=algorithm)
        assert gateway.post(raw, {"x-twilio-signature": signature, **SETTINGS_SHA256}) == 401
    assert gateway.kinds == []


def test_route_still_takes_the_auth_token_signature() -> None:
    """Without the settings header, the auth token's HMAC-SHA1 of the tenant found by its
    Messaging Service is accepted; a STOP is its message and its consent."""
    gateway = TwilioGateway(v11_directory())
    raw = renthero_form(Body="STOP")
    assert (
        gateway.post(
            raw, {"x-twilio-signature": sign(url=GATEWAY_URL, body=raw, token=RENTHERO_TOKEN)}
        )
        == 200
    )
    assert gateway.kinds == ["message", "consent"]


def test_route_refuses_a_wrong_key_and_a_missing_signature() -> None:
    """Another key, or no X-Twilio-Signature: 401, nothing published."""
    gateway = TwilioGateway(v11_directory())
    raw = renthero_form()
    wrong = sign(url=GATEWAY_URL, body=raw, token="another-key", algorithm="sha256")
    assert gateway.post(raw, {"x-twilio-signature": wrong, **SETTINGS_SHA256}) == 401
    assert gateway.post(raw, dict(SETTINGS_SHA256)) == 401
    assert gateway.kinds == []
