"""WhatsApp Cloud API: every recorded Meta example, batches, echoes, BSUIDs and bad items."""

import json
import re
from datetime import UTC, datetime
from typing import Any

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
from ingest.webhooks.channels import whatsapp
from ingest.webhooks.channels.base import ParseError, ParseResult
from tests.conftest import provider_fixture
from tests.unit.ingest.webhooks.channels.adapter_helpers import make_context

RECEIVED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ACME_NUMBER_ID = "106540352242922"
BUSINESS_NUMBER = "15550783881"
CUSTOMER = "16505551234"
TEXT_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
SENT_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
REACTED_TO = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
BSUID = "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6"


def text_message(
    *, wamid: str, body: str = "hello", sender: str = CUSTOMER, timestamp: str = "1749416383"
) -> dict[str, Any]:
    """A ``messages[]`` item of type text."""
    return {
        "from": sender,
        "id": wamid,
        "timestamp": timestamp,
        "type": "text",
        "text": {"body": body},
    }


def change(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = ACME_NUMBER_ID,
    field: str = "messages",
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One ``changes[]`` item reaching ``phone_number_id``."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_NUMBER, "phone_number_id": phone_number_id},
        "contacts": contacts
        if contacts is not None
        else [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
    }
    if messages is not None:
        value["message_echoes" if field == "smb_message_echoes" else "messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"field": field, "value": value}


def webhook(
    *,
    changes: list[dict[str, Any]] | None = None,
    entries: list[list[dict[str, Any]]] | None = None,
) -> bytes:
    """A WhatsApp webhook body: one entry holding ``changes``, or one per list in ``entries``."""
    per_entry = entries if entries is not None else [changes or []]
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": f"10229012934039{n}", "changes": entry_changes}
            for n, entry_changes in enumerate(per_entry)
        ],
    }
    return json.dumps(body).encode()


def parse_bytes(raw: bytes, tenants: TenantDirectory) -> ParseResult:
    """Parse ``raw`` as the webhook route would, at the fixed arrival time."""
    return whatsapp.parse(
        raw,
        {"content-type": "application/json"},
        make_context(tenants=tenants, received_at=RECEIVED_AT),
    )


def only_event(raw: bytes, tenants: TenantDirectory) -> MessageEvent | StatusEvent:
    """The single message or receipt a payload yields, asserting it raised no problem."""
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    [event] = result.events
    assert isinstance(event, MessageEvent | StatusEvent)
    return event


def only_message(raw: bytes, tenants: TenantDirectory) -> MessageEvent:
    """The single event a payload yields, which must be a message."""
    event = only_event(raw, tenants)
    assert isinstance(event, MessageEvent)
    return event


def only_status(raw: bytes, tenants: TenantDirectory) -> StatusEvent:
    """The single event a payload yields, which must be a status."""
    event = only_event(raw, tenants)
    assert isinstance(event, StatusEvent)
    return event


def test_text_message_fixture(tenants: TenantDirectory) -> None:
    """Meta's text example becomes an inbound message from the wa_id, to acme's number."""
    event = only_message(provider_fixture("whatsapp_text_message.json"), tenants)
    assert event.event_id == message_event_id("whatsapp", "meta", TEXT_WAMID)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.WHATSAPP
    assert event.provider == "meta"
    assert event.direction is Direction.INBOUND
    assert event.provider_message_id == TEXT_WAMID
    assert event.occurred_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert event.received_at == RECEIVED_AT
    assert event.participant.channel_user_id == CUSTOMER
    assert event.participant.phone == "+16505551234"
    assert event.participant.display_name == "Sheena Nelson"
    assert event.participant.user_id is None
    assert event.business.channel_account_id == ACME_NUMBER_ID
    assert event.content.type is ContentType.TEXT
    assert event.content.text == "Does it come in another color?"
    assert event.references == []


def test_image_message_fixture(tenants: TenantDirectory) -> None:
    """An image becomes one image attachment whose caption is also the message text."""
    event = only_message(provider_fixture("whatsapp_image_message.json"), tenants)
    assert event.content.type is ContentType.IMAGE
    assert event.content.text == "Taj Mahal"
    [attachment] = event.content.attachments
    assert attachment.kind is AttachmentKind.IMAGE
    assert attachment.mime_type == "image/jpeg"
    assert attachment.provider_media_id == "1003383421387256"
    assert attachment.url is not None
    assert attachment.url.startswith("https://lookaside.fbsbx.com/")
    assert attachment.caption == "Taj Mahal"
    assert event.occurred_at == datetime(2025, 4, 11, 4, 8, 16, tzinfo=UTC)


def test_interactive_button_reply_fixture(tenants: TenantDirectory) -> None:
    """A reply button tap is interactive: the title as text, the button id as payload."""
    event = only_message(provider_fixture("whatsapp_interactive_button_reply.json"), tenants)
    assert event.content.type is ContentType.INTERACTIVE
    assert event.content.text == "Change"
    assert event.content.payload == "change-button"
    assert event.content.reply_to_provider_message_id == (
        "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBJBM0Y4RUU0RUNFQkFDMjYzQUMA"
    )
    assert event.participant.display_name == "Pablo Morales"


def test_interactive_list_reply_fixture(tenants: TenantDirectory) -> None:
    """A list row choice keeps its title and description as text and its id as payload."""
    event = only_message(provider_fixture("whatsapp_interactive_list_reply.json"), tenants)
    assert event.content.type is ContentType.INTERACTIVE
    assert event.content.text == "Priority Mail Express\nNext Day to 2 Days"
    assert event.content.payload == "priority_express"


def test_template_quick_reply_button_fixture(tenants: TenantDirectory) -> None:
    """A template quick-reply button is type button with its text and payload."""
    event = only_message(provider_fixture("whatsapp_button_quick_reply.json"), tenants)
    assert event.content.type is ContentType.BUTTON
    assert event.content.text == "Unsubscribe"
    assert event.content.payload == "Unsubscribe"
    assert event.content.reply_to_provider_message_id == REACTED_TO


def test_reaction_fixture(tenants: TenantDirectory) -> None:
    """A reaction names its emoji and the wamid it reacts to."""
    event = only_message(provider_fixture("whatsapp_reaction.json"), tenants)
    assert event.content.type is ContentType.REACTION
    assert event.content.reaction is not None
    assert event.content.reaction.emoji == "👍"
    assert event.content.reaction.target_provider_message_id == REACTED_TO


def test_reaction_removed_fixture_is_invalid_json_as_published(tenants: TenantDirectory) -> None:
    """Meta's published 'reaction removed' example has a trailing comma: a ParseError."""
    with pytest.raises(ParseError):
        parse_bytes(provider_fixture("whatsapp_reaction_removed.txt"), tenants)


def test_reaction_removed_gives_an_empty_emoji(tenants: TenantDirectory) -> None:
    """With the trailing comma fixed, an omitted emoji is a removed reaction: emoji ''."""
    raw = re.sub(rb",(\s*})", rb"\1", provider_fixture("whatsapp_reaction_removed.txt"))
    event = only_message(raw, tenants)
    assert event.content.type is ContentType.REACTION
    assert event.content.reaction is not None
    assert event.content.reaction.emoji == ""
    assert event.content.reaction.target_provider_message_id == REACTED_TO


def test_product_inquiry_fixture(tenants: TenantDirectory) -> None:
    """A question about a catalogue product carries the product as referral and reply-to."""
    event = only_message(provider_fixture("whatsapp_text_product_inquiry.json"), tenants)
    assert event.content.text == "Is this still available?"
    assert event.content.referral is not None
    assert event.content.referral.catalog_id == "194836987003835"
    assert event.content.referral.product_retailer_id == "di9ozbzfi4"
    assert event.content.reply_to_provider_message_id == (
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"
    )


def test_click_to_whatsapp_ad_fixture(tenants: TenantDirectory) -> None:
    """A message from a click-to-WhatsApp ad keeps the ad's referral fields."""
    event = only_message(provider_fixture("whatsapp_text_ctwa_ad_referral.json"), tenants)
    referral = event.content.referral
    assert referral is not None
    assert referral.source_type == "ad"
    assert referral.source_id == "120226305854810726"
    assert referral.source_url == "https://fb.me/3cr4Wqqkv"
    assert referral.headline == "Chat with us"
    assert referral.body == "Summer Succulents are here!"
    assert referral.ctwa_clid is not None
    assert referral.ctwa_clid.startswith("Aff-n8ZTODiE79d22")


@pytest.mark.parametrize(
    ("fixture", "status", "wamid", "occurred_at"),
    [
        ("whatsapp_status_sent.json", DeliveryStatus.SENT, SENT_WAMID, 1750030073),
        (
            "whatsapp_status_delivered.json",
            DeliveryStatus.DELIVERED,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA",
            1750263773,
        ),
    ],
)
def test_status_fixtures(
    tenants: TenantDirectory,
    fixture: str,
    status: DeliveryStatus,
    wamid: str,
    occurred_at: int,
) -> None:
    """Sent and delivered receipts become status events for the outbound wamid."""
    event = only_status(provider_fixture(fixture), tenants)
    assert event.event_id == status_event_id("whatsapp", "meta", wamid, status)
    assert event.tenant_id == "acme"
    assert event.channel is Channel.WHATSAPP
    assert event.status is status
    assert event.provider_message_id == wamid
    assert event.occurred_at == datetime.fromtimestamp(occurred_at, UTC)
    assert event.participant.channel_user_id == CUSTOMER
    assert event.participant.phone == "+16505551234"
    assert event.error is None


def test_failed_status_fixture(tenants: TenantDirectory) -> None:
    """A failed receipt carries the first error's code (as a string) and title."""
    event = only_status(provider_fixture("whatsapp_status_failed.json"), tenants)
    assert event.status is DeliveryStatus.FAILED
    assert event.error is not None
    assert event.error.code == "131049"
    assert event.error.title.startswith("This message was not delivered")


def test_bsuid_text_without_phone(tenants: TenantDirectory) -> None:
    """A username user with an empty wa_id is addressed by the business-scoped user id."""
    event = only_message(provider_fixture("whatsapp_bsuid_text_no_phone.json"), tenants)
    assert event.participant.channel_user_id == "user.93737..."
    assert event.participant.user_id == "user.93737..."
    assert event.participant.phone is None
    assert event.participant.username == "@realsheenanelson"
    assert event.participant.display_name == "Sheena Nelson"


def test_bsuid_status_without_phone(tenants: TenantDirectory) -> None:
    """A receipt with an empty recipient_id is addressed by recipient_user_id."""
    raw = provider_fixture("whatsapp_bsuid_status_delivered_no_phone.json")
    event = only_status(raw, tenants)
    assert event.status is DeliveryStatus.DELIVERED
    assert event.participant.channel_user_id == BSUID
    assert event.participant.user_id == BSUID
    assert event.participant.phone is None
    assert event.participant.username == "@pablomorales"


def test_bsuid_status_with_phone(tenants: TenantDirectory) -> None:
    """With both, the wa_id addresses the customer and the contact's user id is kept."""
    raw = provider_fixture("whatsapp_bsuid_status_delivered_with_phone.json")
    event = only_status(raw, tenants)
    assert event.participant.channel_user_id == CUSTOMER
    assert event.participant.phone == "+16505551234"
    assert event.participant.user_id == BSUID
    assert event.participant.display_name == "Pablo M."


def test_batched_payload_yields_every_message(tenants: TenantDirectory) -> None:
    """3 entries of 2 messages each give 6 events with 6 distinct ids."""
    raw = webhook(
        entries=[
            [
                change(
                    messages=[
                        text_message(wamid=f"wamid.{n}.1"),
                        text_message(wamid=f"wamid.{n}.2"),
                    ]
                )
            ]
            for n in range(3)
        ]
    )
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    assert len(result.events) == 6
    assert len({event.event_id for event in result.events}) == 6


def test_messages_and_statuses_in_one_change_are_all_kept(tenants: TenantDirectory) -> None:
    """A change carrying messages and statuses yields one event for each."""
    statuses = [
        {
            "id": "wamid.out.1",
            "status": "read",
            "timestamp": "1750030080",
            "recipient_id": CUSTOMER,
        },
        {
            "id": "wamid.out.1",
            "status": "delivered",
            "timestamp": "1750030075",
            "recipient_id": CUSTOMER,
        },
    ]
    raw = webhook(changes=[change(messages=[text_message(wamid="wamid.in.1")], statuses=statuses)])
    result = parse_bytes(raw, tenants)
    assert result.problems == []
    kinds = [(type(event).__name__, getattr(event, "status", None)) for event in result.events]
    assert kinds == [
        ("MessageEvent", None),
        ("StatusEvent", DeliveryStatus.READ),
        ("StatusEvent", DeliveryStatus.DELIVERED),
    ]


def test_the_same_body_parsed_twice_gives_the_same_ids(tenants: TenantDirectory) -> None:
    """Event ids are deterministic, so a redelivered webhook deduplicates."""
    raw = webhook(
        changes=[
            change(
                messages=[text_message(wamid="wamid.X")],
                statuses=[
                    {"id": "wamid.Y", "status": "sent", "timestamp": "1", "recipient_id": CUSTOMER}
                ],
            )
        ]
    )
    first = [event.event_id for event in parse_bytes(raw, tenants).events]
    second = [event.event_id for event in parse_bytes(raw, tenants).events]
    assert first == second
    assert len(first) == 2


def test_unknown_phone_number_id_is_a_problem_and_others_still_parse(
    tenants: TenantDirectory,
) -> None:
    """A change for an unknown number gives a problem naming it; other changes still parse."""
    raw = webhook(
        changes=[
            change(messages=[text_message(wamid="wamid.lost")], phone_number_id="999000999"),
            change(messages=[text_message(wamid="wamid.kept")]),
        ]
    )
    result = parse_bytes(raw, tenants)
    assert [event.provider_message_id for event in result.events] == ["wamid.kept"]
    assert len(result.problems) == 1
    assert "999000999" in result.problems[0]


def test_globex_number_routes_to_globex(tenants: TenantDirectory) -> None:
    """The phone_number_id picks the tenant."""
    raw = webhook(
        changes=[
            change(messages=[text_message(wamid="wamid.g")], phone_number_id="222222222222222")
        ]
    )
    event = only_message(raw, tenants)
    assert event.tenant_id == "globex"
    assert event.business.channel_account_id == "222222222222222"


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'["entry"]',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "page", "entry": []}',
    ],
    ids=["invalid-json", "not-an-object", "no-entry", "wrong-object"],
)
def test_request_level_failures_raise_parse_error(tenants: TenantDirectory, raw: bytes) -> None:
    """Bad JSON, a non-object body, no entry list or another product's body raise ParseError."""
    with pytest.raises(ParseError):
        parse_bytes(raw, tenants)


def test_reference_in_text_lands_in_references(tenants: TenantDirectory) -> None:
    """A booking code matching acme's reference_pattern is extracted from the text."""
    body = "Hi, about booking ABC-123456 and abc-000000"
    event = only_message(
        webhook(changes=[change(messages=[text_message(wamid="w", body=body)])]), tenants
    )
    assert event.references == ["ABC-123456"]


def test_reference_in_a_caption_lands_in_references(tenants: TenantDirectory) -> None:
    """Captions are searched for references too."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.doc",
        "timestamp": "1749416383",
        "type": "document",
        "document": {
            "caption": "Invoice for XYZ-654321",
            "filename": "invoice.pdf",
            "mime_type": "application/pdf",
            "id": "media-1",
        },
    }
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.type is ContentType.DOCUMENT
    assert event.content.attachments[0].filename == "invoice.pdf"
    assert event.content.attachments[0].kind is AttachmentKind.DOCUMENT
    assert event.references == ["XYZ-654321"]


def test_message_from_the_business_number_is_an_outbound_echo(tenants: TenantDirectory) -> None:
    """A message whose ``from`` is the business's own number is outbound, to the ``to``."""
    message = text_message(wamid="wamid.echo", sender=BUSINESS_NUMBER) | {"to": CUSTOMER}
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.direction is Direction.OUTBOUND
    assert event.participant.channel_user_id == CUSTOMER
    assert event.participant.display_name == "Sheena Nelson"


def test_smb_message_echoes_are_outbound(tenants: TenantDirectory) -> None:
    """Echoes of messages sent from the WhatsApp Business app are outbound messages."""
    echo = text_message(wamid="wamid.app", sender=BUSINESS_NUMBER, body="See you at 10") | {
        "to": CUSTOMER
    }
    raw = webhook(changes=[change(messages=[echo], field="smb_message_echoes", contacts=[])])
    event = only_message(raw, tenants)
    assert event.direction is Direction.OUTBOUND
    assert event.participant.channel_user_id == CUSTOMER
    assert event.participant.phone == "+16505551234"
    assert event.content.text == "See you at 10"


def test_unsupported_field_is_a_problem(tenants: TenantDirectory) -> None:
    """Template and account updates share the endpoint but are not messages: a problem."""
    raw = webhook(
        changes=[{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]
    )
    result = parse_bytes(raw, tenants)
    assert result.events == []
    assert result.problems == ["unsupported WhatsApp field message_template_status_update"]


def test_unsupported_status_is_a_problem_and_others_still_parse(tenants: TenantDirectory) -> None:
    """A status outside sent/delivered/read/failed is a problem; its neighbours still parse."""
    statuses = [
        {"id": "wamid.1", "status": "deleted", "timestamp": "1750030073", "recipient_id": CUSTOMER},
        {"id": "wamid.2", "status": "read", "timestamp": "1750030073", "recipient_id": CUSTOMER},
    ]
    result = parse_bytes(webhook(changes=[change(statuses=statuses)]), tenants)
    assert [event.provider_message_id for event in result.events] == ["wamid.2"]
    assert len(result.problems) == 1
    assert "'deleted'" in result.problems[0]


def test_message_without_any_sender_id_is_a_problem(tenants: TenantDirectory) -> None:
    """A message with neither a wa_id nor a user id cannot be addressed: a problem."""
    message = text_message(wamid="wamid.anon", sender="")
    result = parse_bytes(webhook(changes=[change(messages=[message], contacts=[])]), tenants)
    assert result.events == []
    assert result.problems == [
        "WhatsApp message wamid.anon: has neither a wa_id nor a business-scoped user id"
    ]


@pytest.mark.parametrize(
    "broken",
    [
        {"timestamp": "soon"},
        {"id": None},
        {"type": "reaction", "reaction": {"emoji": "👍"}},
        {"type": "location", "location": {"name": "nowhere"}},
    ],
    ids=["bad-timestamp", "no-id", "reaction-without-target", "location-without-coordinates"],
)
def test_invalid_message_is_a_problem_not_an_exception(
    tenants: TenantDirectory, broken: dict[str, Any]
) -> None:
    """A message failing validation becomes one problem; the next message still parses."""
    bad = text_message(wamid="wamid.bad") | broken
    raw = webhook(changes=[change(messages=[bad, text_message(wamid="wamid.good")])])
    result = parse_bytes(raw, tenants)
    assert [event.provider_message_id for event in result.events] == ["wamid.good"]
    assert len(result.problems) == 1
    assert result.problems[0].startswith("WhatsApp message")


def test_malformed_shapes_never_raise(tenants: TenantDirectory) -> None:
    """Wrong JSON types where objects or lists belong are skipped or reported, not raised."""
    body: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            "not-an-entry",
            {"changes": "not-a-list"},
            {"changes": [{"field": "messages", "value": []}]},
            {"changes": [change(messages=[], statuses=[])]},
        ],
    }
    # A message and a status that are not objects: reported as items without an id.
    body["entry"][3]["changes"][0]["value"] |= {"messages": ["a-string"], "statuses": [42]}
    result = parse_bytes(json.dumps(body).encode(), tenants)
    assert result.events == []
    assert result.problems == [
        "WhatsApp entry #0 is not an object",
        "WhatsApp messages change has no metadata.phone_number_id",
        "WhatsApp message (no id): has no id",
        "WhatsApp status (no id) (None): unsupported WhatsApp status None",
    ]


def test_location_message(tenants: TenantDirectory) -> None:
    """A location keeps its coordinates and reads as its name and address."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.loc",
        "timestamp": "1749416383",
        "type": "location",
        "location": {
            "latitude": 38.9,
            "longitude": -77.0,
            "name": "Philz Coffee",
            "address": "101 Forest Ave, Palo Alto",
        },
    }
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.type is ContentType.LOCATION
    assert event.content.location is not None
    assert (event.content.location.latitude, event.content.location.longitude) == (38.9, -77.0)
    assert event.content.text == "Philz Coffee, 101 Forest Ave, Palo Alto"


def test_contacts_message(tenants: TenantDirectory) -> None:
    """Shared contact cards keep names, phones and emails."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.cards",
        "timestamp": "1749416383",
        "type": "contacts",
        "contacts": [
            {
                "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
                "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME"}],
                "emails": [{"email": "bjohnson@example.com", "type": "WORK"}],
            },
            {"name": {"first_name": "Ann", "last_name": "Lee"}},
        ],
    }
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.type is ContentType.CONTACTS
    first, second = event.content.contacts
    assert first.name == "Barbara J. Johnson"
    assert first.phones == ["+1 (940) 555-1234"]
    assert first.emails == ["bjohnson@example.com"]
    assert second.name == "Ann Lee"
    assert event.content.text == "Barbara J. Johnson, Ann Lee"


@pytest.mark.parametrize(
    ("kind", "node"),
    [
        ("audio", {"mime_type": "audio/ogg; codecs=opus", "id": "m-audio", "voice": True}),
        ("video", {"mime_type": "video/mp4", "id": "m-video"}),
        ("sticker", {"mime_type": "image/webp", "id": "m-sticker", "animated": False}),
    ],
)
def test_other_media_messages(tenants: TenantDirectory, kind: str, node: dict[str, Any]) -> None:
    """Audio, video and stickers become one attachment of their own kind."""
    message = {
        "from": CUSTOMER,
        "id": f"wamid.{kind}",
        "timestamp": "1749416383",
        "type": kind,
        kind: node,
    }
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.type == kind
    [attachment] = event.content.attachments
    assert attachment.kind == kind
    assert attachment.provider_media_id == node["id"]
    assert attachment.mime_type == node["mime_type"]


def test_flow_reply_is_interactive(tenants: TenantDirectory) -> None:
    """A WhatsApp Flow answer (nfm_reply) is interactive with its response JSON as payload."""
    message = {
        "from": CUSTOMER,
        "id": "wamid.flow",
        "timestamp": "1749416383",
        "type": "interactive",
        "interactive": {
            "type": "nfm_reply",
            "nfm_reply": {
                "name": "flow",
                "body": "Sent",
                "response_json": '{"date": "2026-05-01"}',
            },
        },
    }
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.type is ContentType.INTERACTIVE
    assert event.content.text == "Sent"
    assert event.content.payload == '{"date": "2026-05-01"}'


@pytest.mark.parametrize(
    ("extra", "expected_text"),
    [
        (
            {
                "type": "unsupported",
                "errors": [{"code": 131051, "title": "Message type unknown"}],
            },
            "A message WhatsApp cannot show here: Message type unknown",
        ),
        (
            {
                "type": "unsupported",
                "errors": [
                    {
                        "code": 131060,
                        "title": "Unsupported message type",
                        "error_data": {"details": "Message type is not currently supported"},
                    }
                ],
            },
            "A message WhatsApp cannot show here: Message type is not currently supported",
        ),
        (
            {
                "type": "order",
                "order": {"catalog_id": "c", "text": "for Friday", "product_items": [{}, {}]},
            },
            "Order of 2 product(s): for Friday",
        ),
    ],
    ids=["unsupported-131051", "unsupported-131060", "order"],
)
def test_messages_whatsapp_cannot_show_are_placeholders_in_their_thread(
    tenants: TenantDirectory, extra: dict[str, Any], expected_text: str
) -> None:
    """WhatsApp's own ``unsupported`` messages and orders are real messages of type
    unsupported: the customer did write, and the thread shows it."""
    message = {"from": CUSTOMER, "id": "wamid.odd", "timestamp": "1749416383"} | extra
    event = only_message(webhook(changes=[change(messages=[message])]), tenants)
    assert event.content.type is ContentType.UNSUPPORTED
    assert event.content.text == expected_text


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"type": "ephemeral_v9"}, "'ephemeral_v9'"),
        (
            {"type": "system", "system": {"body": "Security code changed", "type": "identity"}},
            "system message this service does not know: 'identity'",
        ),
        (
            {"type": "system", "system": {"body": "changed", "type": "user_changed_number"}},
            "user_changed_number names no new wa_id",
        ),
        (
            {"type": "edit", "edit": {"message": {"type": "text"}}},
            "edit has no original_message_id",
        ),
        (
            {
                "type": "edit",
                "edit": {"original_message_id": "wamid.o", "message": {"type": "hologram"}},
            },
            "'hologram'",
        ),
    ],
    ids=[
        "unknown-type",
        "unknown-system",
        "number-change-without-number",
        "edit-no-target",
        "edit-of-unknown",
    ],
)
def test_what_has_no_meaning_here_is_a_problem_that_names_it(
    tenants: TenantDirectory, extra: dict[str, Any], named: str
) -> None:
    """A type or notice this service cannot apply is never a guess: the request is
    dead-lettered with a reason naming it (and kept for a replay once it is known)."""
    message = {"from": CUSTOMER, "id": "wamid.odd", "timestamp": "1749416383"} | extra
    result = parse_bytes(webhook(changes=[change(messages=[message])]), tenants)
    assert result.events == []
    [problem] = result.problems
    assert "wamid.odd" in problem
    assert named in problem
