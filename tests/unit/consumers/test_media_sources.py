"""(v1.1) The media fetches' requests and the rules around them, without I/O."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from consumers import media_sources as sources
from contracts import Attachment, MessageEvent, Settings, Tenant, message_event_id
from domain.media import media_documents, retry_delay, source_of

SETTINGS = Settings(
    graph_api_url="https://graph.example:8443", twilio_api_url="https://api.twilio.com"
)
TENANT = Tenant.model_validate(
    {
        "id": "acme",
        "name": "Acme",
        "whatsapp_access_token": "graph-token",
        "twilio_account_sid": "AC1",
        "twilio_auth_token": "secret",
    }
)


def test_the_graph_token_goes_to_the_graph_host_and_the_url_it_answers_only() -> None:
    lookup = sources.graph_lookup(SETTINGS, TENANT, "1003383421387256")
    assert lookup.url == "https://graph.example:8443/v23.0/1003383421387256"
    assert lookup.headers_for(lookup.url) == {"Authorization": "Bearer graph-token"}
    assert lookup.headers_for("https://graph.example/v23.0/1") == {}  # another port
    download, size, digest = sources.graph_download(
        TENANT,
        {"url": "https://lookaside.fbsbx.com/x?mid=1", "file_size": "303833", "sha256": "abc"},
    )
    assert download.headers_for(download.url) == {"Authorization": "Bearer graph-token"}
    assert download.headers_for("https://cdn.elsewhere.example/x") == {}
    assert (size, digest) == (303833, "abc")
    with pytest.raises(sources.Unavailable, match="no media URL"):
        sources.graph_download(TENANT, {"url": "file:///etc/passwd"})
    with pytest.raises(sources.Unavailable, match="whatsapp_access_token"):
        sources.graph_lookup(SETTINGS, Tenant(id="bare", name="Bare"), "1")


def test_twilio_credentials_go_to_twilio_only() -> None:
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    fetch = sources.twilio_media(SETTINGS, TENANT, url)
    basic = base64.b64encode(b"AC1:secret").decode()
    assert fetch.headers_for(url) == {"Authorization": f"Basic {basic}"}
    assert fetch.headers_for("https://media.twiliocdn.com/AC1/abc") == {}
    assert "secret" not in repr(fetch)
    assert (
        sources.cdn("https://lookaside.fbsbx.com/ig").headers_for("https://lookaside.fbsbx.com/ig")
        == {}
    )


def test_a_digest_in_hex_or_base64() -> None:
    digest = hashlib.sha256(b"file").digest()
    assert sources.digest_matches(digest, digest.hex()) is True
    assert sources.digest_matches(digest, base64.b64encode(digest).decode()) is True
    assert sources.digest_matches(digest, hashlib.sha256(b"other").hexdigest()) is False
    assert sources.digest_matches(digest, "not a digest!") is None


def test_refusals_in_the_providers_words() -> None:
    graph = b'{"error": {"message": "(#100) Invalid parameter", "code": 100}}'
    assert sources.refusal(400, graph) == "answered 400: (#100) Invalid parameter"
    twilio = b'{"code": 20003, "message": "Authenticate", "status": 401}'
    assert sources.refusal(401, twilio) == "answered 401: Authenticate"
    assert sources.refusal(403, b"URL signature expired") == "answered 403: URL signature expired"


def _event(channel: str, provider: str, attachments: list[dict[str, object]]) -> MessageEvent:
    return MessageEvent.model_validate(
        {
            "event_id": message_event_id(channel, provider, "m1"),
            "tenant_id": "acme",
            "channel": channel,
            "provider": provider,
            "direction": "inbound",
            "provider_message_id": "m1",
            "occurred_at": "2026-05-01T12:00:00Z",
            "received_at": "2026-05-01T12:00:01Z",
            "participant": {"channel_user_id": "u1"},
            "business": {"channel_account_id": "b1"},
            "content": {"type": "image", "attachments": attachments},
        }
    )


def test_which_attachments_have_a_file_and_from_where() -> None:
    image = Attachment.model_validate({"kind": "image", "provider_media_id": "9"})
    linked = Attachment.model_validate({"kind": "image", "url": "https://cdn.example/a"})
    place = Attachment.model_validate({"kind": "location"})
    assert source_of("whatsapp", "meta", image) == ("graph", "9")
    assert source_of("sms", "twilio", linked) == ("twilio", "https://cdn.example/a")
    assert source_of("instagram", "meta", linked) == ("url", "https://cdn.example/a")
    assert source_of("email", "postmark", image) == ("email", None)
    assert source_of("whatsapp", "meta", place) is None
    now = datetime(2026, 5, 1, tzinfo=UTC)
    event = _event(
        "whatsapp",
        "meta",
        [
            {"kind": "location"},
            {"kind": "video", "provider_media_id": "1", "size": 200},
            {"kind": "image", "provider_media_id": "2"},
        ],
    )
    documents = media_documents(event, now=now, max_bytes=100, email_wait=timedelta(minutes=1))
    assert [(d["index"], d["state"]) for d in documents] == [(1, "unavailable"), (2, "pending")]
    assert "MEDIA_MAX_BYTES" in (documents[0]["reason"] or "")
    assert documents[1]["_id"] == f"{event.event_id}:2"
    assert documents[1]["next_attempt_at"] == now
    email = _event("email", "postmark", [{"kind": "document", "filename": "a.pdf"}])
    [waiting] = media_documents(email, now=now, max_bytes=100, email_wait=timedelta(minutes=1))
    assert waiting["next_attempt_at"] == now + timedelta(minutes=1)


def test_retries_back_off_twice_as_long_each_time() -> None:
    first = timedelta(seconds=30)
    assert [retry_delay(n, first).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
