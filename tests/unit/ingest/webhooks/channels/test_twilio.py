"""Twilio: signatures (SDK vectors T1-T9), tenant lookup and message / status normalisation."""

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode

import pytest

from contracts import (
    AttachmentKind,
    Channel,
    ContentType,
    DeliveryStatus,
    Direction,
    MessageEvent,
    StatusEvent,
    TenantDirectory,
    message_event_id,
    status_event_id,
)
from ingest.webhooks.channels import twilio
from ingest.webhooks.channels.base import ParseError
from tests.conftest import provider_fixture
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


def sign(*, url: str, body: bytes, token: str = ACME_TOKEN) -> str:
    """Twilio's algorithm written out independently: sorted names, sorted unique values."""
    params = parse_qsl(body.decode(), keep_blank_values=True)
    signed = url
    for name in sorted({name for name, _ in params}):
        for value in sorted({value for key, value in params if key == name}):
            signed += name + value
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
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
    assert len(result.events) == 1
    return result.events[0]


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
    assert twilio.verify(raw, signed_headers(signature), url, "12345")


def test_signature_over_explicit_default_port_verifies_without_it() -> None:
    """A signature computed over ``:443`` is accepted when the URL is configured without it."""
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    raw = urlencode(VECTOR_PARAMS).encode()
    assert twilio.verify(raw, signed_headers("RSOYDt4T1cUTdK1PDd93/VVr8B8="), url, "12345")


def test_non_default_port_is_never_dropped() -> None:
    """The T4 signature, made over ``:1234``, is refused for the URL without that port."""
    raw = urlencode(VECTOR_PARAMS).encode()
    url = "http://mycompany.com/myapp.php?foo=1&bar=2"
    assert not twilio.verify(raw, signed_headers("Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), url, "12345")


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
    assert twilio.verify(body, {"x-twilio-signature": signature}, url, "12345")


def test_body_hash_mismatch_fails() -> None:
    """A JSON body that does not hash to the URL's bodySHA256 is refused."""
    url = (
        VECTOR_URL + "&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    headers = {"x-twilio-signature": "Ldidvp12m26NI7eqEvxnEpkd9Hc="}
    assert not twilio.verify(b'{"a":1}', headers, url, "12345")


def test_recorded_inbound_verifies_with_its_empty_params() -> None:
    """A recorded inbound SMS signs its empty ``ToCity=`` / ``ToZip=`` params too."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url=WEBHOOK_URL, body=raw)
    assert twilio.verify(raw, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_form_signed_over_default_port_verifies_for_url_without_it() -> None:
    """A form webhook signed over ``:443`` (T9's port behaviour) verifies for the bare URL."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url="https://threadline.example:443/webhooks/sms/twilio", body=raw)
    assert twilio.verify(raw, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_tampered_param_fails() -> None:
    """Changing one parameter after signing invalidates the signature."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url=WEBHOOK_URL, body=raw)
    tampered = raw.replace(b"Body=Hi+there", b"Body=Hi+thore")
    assert not twilio.verify(tampered, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_dropped_empty_param_fails() -> None:
    """Removing an empty parameter changes what was signed."""
    raw = provider_fixture("twilio_inbound_sms.form")
    signature = sign(url=WEBHOOK_URL, body=raw)
    tampered = raw.replace(b"&ToCity=", b"")
    assert not twilio.verify(tampered, signed_headers(signature), WEBHOOK_URL, ACME_TOKEN)


def test_missing_signature_header_fails() -> None:
    """A request without X-Twilio-Signature is refused."""
    raw = provider_fixture("twilio_inbound_sms.form")
    assert not twilio.verify(raw, {}, WEBHOOK_URL, ACME_TOKEN)


def test_wrong_token_or_url_fails() -> None:
    """The signature binds both the auth token and the URL."""
    raw = provider_fixture("twilio_inbound_sms.form")
    headers = signed_headers(sign(url=WEBHOOK_URL, body=raw))
    assert not twilio.verify(raw, headers, WEBHOOK_URL, "another-token")
    assert not twilio.verify(raw, headers, WEBHOOK_URL + "?x=1", ACME_TOKEN)


def test_undecodable_body_fails_verification() -> None:
    """A body that is not UTF-8 form data is refused, not raised."""
    assert not twilio.verify(b"Body=\xff", signed_headers("abc="), WEBHOOK_URL, ACME_TOKEN)


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
