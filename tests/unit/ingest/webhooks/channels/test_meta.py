"""Meta's shared pieces: X-Hub-Signature-256 (vectors M1, M4'), the subscription handshake,
the JSON body and the two timestamp formats."""

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from ingest.webhooks.channels.base import ParseError
from ingest.webhooks.channels.meta import (
    as_id,
    entries,
    from_epoch_millis,
    from_unix_seconds,
    load_object,
    to_epoch_millis,
    verify,
    verify_subscription,
)
from tests.conftest import provider_fixture

M1_SECRET = "TEST_APP_SECRET"
M1_SIGNATURE = "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221"
M4_SECRET = "e6af24be1d683c8c911949f897eea1f6"
M4_SHA256 = "sha256=7f202c12ba7dbbd1cb23d8a1b4af648fe22ea04456c0a926fcf8cb4e6da31ab4"
M4_SHA1 = "sha1=f1a4569dcf02a9829a15696d949b386b7d6d0272"
SIGNED_FIXTURE = "messenger_text_message_signed.json"


def sha256_header(*, secret: str, body: bytes) -> dict[str, str]:
    """Headers carrying Meta's signature of ``body``, computed independently of the adapter."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}"}


def handshake(**overrides: str | None) -> dict[str, str]:
    """A valid subscription query, with ``overrides`` replacing (None: removing) parameters."""
    query: dict[str, str | None] = {
        "hub.mode": "subscribe",
        "hub.verify_token": "vibecoding",
        "hub.challenge": "1158201444",
    }
    query.update({f"hub.{name}": value for name, value in overrides.items()})
    return {name: value for name, value in query.items() if value is not None}


def test_verify_accepts_whatsapp_sdk_vector_m1() -> None:
    """The signature from Meta's WhatsApp Node.js SDK test over b"test" verifies."""
    assert verify(b"test", {"x-hub-signature-256": M1_SIGNATURE}, M1_SECRET)


def test_verify_accepts_full_captured_body_vector_m4_prime() -> None:
    """The SHA-256 signature over the exact bytes of the captured Messenger body verifies."""
    raw = provider_fixture(SIGNED_FIXTURE)
    assert verify(raw, {"x-hub-signature-256": M4_SHA256}, M4_SECRET)


def test_verify_rejects_a_flipped_byte() -> None:
    """Changing one byte of the signed body makes the signature fail."""
    raw = bytearray(provider_fixture(SIGNED_FIXTURE))
    raw[40] ^= 0x01
    assert not verify(bytes(raw), {"x-hub-signature-256": M4_SHA256}, M4_SECRET)


def test_verify_rejects_a_reserialised_body() -> None:
    """The signature covers the raw bytes: the same JSON written differently fails."""
    raw = provider_fixture(SIGNED_FIXTURE).replace(b"\\u00e4", "ä".encode())
    assert not verify(raw, {"x-hub-signature-256": M4_SHA256}, M4_SECRET)


def test_verify_rejects_a_missing_header() -> None:
    """A request without X-Hub-Signature-256 is not authentic."""
    assert not verify(b"test", {}, M1_SECRET)


def test_verify_rejects_the_legacy_sha1_header_alone() -> None:
    """A valid legacy X-Hub-Signature (SHA-1, vector M4) is not enough."""
    raw = provider_fixture(SIGNED_FIXTURE)
    assert not verify(raw, {"x-hub-signature": M4_SHA1}, M4_SECRET)


def test_verify_rejects_the_wrong_secret() -> None:
    """A signature made with another app's secret fails."""
    assert not verify(b"test", {"x-hub-signature-256": M1_SIGNATURE}, M4_SECRET)


def test_verify_rejects_an_empty_secret() -> None:
    """An unset app secret never authenticates, even a signature made with the empty key."""
    assert not verify(b"test", sha256_header(secret="", body=b"test"), "")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sha256=",
        "0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221",
        "sha1=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221",
        "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d988822",
        "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d98882211",
        "sha256=zc61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221",
        "sha256=ü c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d988822",
    ],
)
def test_verify_rejects_a_malformed_header(value: str) -> None:
    """A header that is not ``sha256=`` and 64 hex digits fails without raising."""
    assert not verify(b"test", {"x-hub-signature-256": value}, M1_SECRET)


def test_verify_accepts_upper_case_hex_and_surrounding_spaces() -> None:
    """Hex case and stray whitespace around the header value do not matter."""
    header = "  " + M1_SIGNATURE.replace("0c61947b", "0C61947B") + " "
    assert verify(b"test", {"x-hub-signature-256": header}, M1_SECRET)


def test_verify_subscription_returns_the_challenge() -> None:
    """mode=subscribe with the configured verify token echoes hub.challenge."""
    assert verify_subscription(handshake(), "vibecoding") == "1158201444"


@pytest.mark.parametrize(
    "overrides",
    [
        {"verify_token": "wrong"},
        {"verify_token": None},
        {"verify_token": "vibécoding"},
        {"mode": "unsubscribe"},
        {"mode": None},
        {"challenge": None},
        {"challenge": ""},
    ],
)
def test_verify_subscription_refuses_anything_else(overrides: dict[str, str | None]) -> None:
    """A wrong or missing token, mode or challenge gives None, without raising."""
    assert verify_subscription(handshake(**overrides), "vibecoding") is None


def test_verify_subscription_refuses_when_no_token_is_configured() -> None:
    """An empty configured verify token matches nothing, not even an empty one."""
    assert verify_subscription(handshake(verify_token=""), "") is None


def test_load_object_returns_the_body() -> None:
    """A JSON object body is returned as a dict."""
    assert load_object(b'{"object": "page", "entry": []}') == {"object": "page", "entry": []}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"a": 1,}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,
        b"1" * 5000,
    ],
    ids=["empty", "truncated", "trailing-comma", "bad-utf8", "too-deep", "huge-int"],
)
def test_load_object_raises_parse_error_on_invalid_json(raw: bytes) -> None:
    """Bodies that are not valid JSON raise ParseError, never another exception."""
    with pytest.raises(ParseError, match="not valid JSON"):
        load_object(raw)


@pytest.mark.parametrize("raw", [b"[]", b'"entry"', b"null", b"42"])
def test_load_object_refuses_a_body_that_is_not_an_object(raw: bytes) -> None:
    """Valid JSON that is not an object raises ParseError."""
    with pytest.raises(ParseError, match="not an object"):
        load_object(raw)


def test_entries_requires_an_entry_list() -> None:
    """A body without an ``entry`` list raises ParseError."""
    with pytest.raises(ParseError, match="no entry list"):
        entries({"object": "page", "entry": {}}, "page")


def test_entries_refuses_another_products_object() -> None:
    """A body for another Meta product (object) raises ParseError naming it."""
    with pytest.raises(ParseError, match="'instagram'"):
        entries({"object": "instagram", "entry": []}, "page")


def test_whatsapp_timestamps_are_unix_seconds() -> None:
    """WhatsApp's string of Unix seconds (or a number) becomes a UTC datetime."""
    expected = datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert from_unix_seconds("1749416383") == expected
    assert from_unix_seconds(1749416383) == expected


@pytest.mark.parametrize("value", [None, "", "abc", "0", -5, True, "1e400", "nan", 10**30, {}])
def test_invalid_unix_seconds_give_none(value: object) -> None:
    """Anything that is not a positive, representable number of seconds gives None."""
    assert from_unix_seconds(value) is None


def test_messenger_timestamps_are_epoch_milliseconds() -> None:
    """Messenger's integer milliseconds (or the same as a string) become a UTC datetime."""
    expected = datetime(2016, 8, 24, 8, 21, 7, 80000, tzinfo=UTC)
    assert from_epoch_millis(1472026867080) == expected
    assert from_epoch_millis("1472026867080") == expected


def test_epoch_values_that_are_obviously_seconds_are_read_as_seconds() -> None:
    """A value below 10**11 (Meta's postback example sends seconds) is read as seconds."""
    assert to_epoch_millis("1527459824") == 1527459824000
    assert from_epoch_millis(1527459824) == datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC)


@pytest.mark.parametrize("value", [0, "0", "<TIME_WEBHOOK_WAS_TRIGGERED>", None, False, 10**40])
def test_invalid_epoch_milliseconds_give_none(value: object) -> None:
    """Zero, placeholders, booleans and out-of-range values give None."""
    assert to_epoch_millis(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1751036168465324, "1751036168465324"), ("  5678 ", "5678"), ("", None), (True, None)],
)
def test_as_id_accepts_strings_and_json_numbers(value: object, expected: str | None) -> None:
    """Ids come as strings or, in old payloads, JSON numbers; both become strings."""
    assert as_id(value) == expected
