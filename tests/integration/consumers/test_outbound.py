"""(v1.1) The outbound worker against local servers that answer as the Graph API, Twilio and
an SMTP server (aiosmtpd) do: each channel's send, checked field by field; one send per
attempt whatever is delivered twice; timeouts left ``unknown``; rate limits waited out;
receipts and asynchronous failures; echoes; opt-outs; email threading."""

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from devstack import free_port
from litestar.testing import AsyncTestClient

from consumers.messages import MessagesHandler
from consumers.outbound import OutboundHandler
from consumers.senders import senders
from consumers.statuses import StatusesHandler
from contracts import (
    MessageEvent,
    OutboundEvent,
    Settings,
    TenantDirectory,
    load_tenants,
    message_event_id,
    outbound_event_id,
)
from contracts.tenants import TenantsConfig
from domain.store.database import Store
from ingest.app import create_app
from tests.conftest import FIXTURES
from tests.factories import message_event, status_event
from tests.integration.api.conftest import ACME, GLOBEX, error_code
from tests.integration.conftest import GatewayClient
from tests.outbound_servers import GraphSendServer, TwilioSendServer

pytestmark = pytest.mark.integration

WA_NUMBER = "106540352242922"
PAGE = "1691462197845448"
GLOBEX_PAGE = "1234567890"
TWILIO_SID = "AC7ef44158dbb01b972d64d7e5c851c8d7"


@pytest.fixture
def messages(store: Store, tenants: TenantDirectory) -> MessagesHandler:
    return MessagesHandler(store, tenants)


@pytest.fixture
def graph() -> Iterator[GraphSendServer]:
    tokens = {
        WA_NUMBER: "acme-graph-token",
        PAGE: "acme-page-token",
        GLOBEX_PAGE: "globex-page-token",
        "102290129340398": "acme-graph-token",
    }
    with GraphSendServer(tokens) as server:
        yield server


@pytest.fixture
def twilio() -> Iterator[TwilioSendServer]:
    with TwilioSendServer(TWILIO_SID, "12345") as server:
        yield server


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
async def handler(
    settings: Settings,
    store: Store,
    tenants: TenantDirectory,
    graph: GraphSendServer,
    twilio: TwilioSendServer,
    smtp: tuple[Mailbox, int],
) -> AsyncIterator[OutboundHandler]:
    settings = settings.model_copy(
        update={
            "graph_api_url": graph.base_url,
            "twilio_api_url": twilio.base_url,
            "send_timeout": timedelta(seconds=1),
        }
    )
    # The tenants file's SMTP server is this test's.
    config = tenants.config
    acme = config.tenants[0]
    assert acme.smtp is not None
    moved = acme.model_copy(update={"smtp": acme.smtp.model_copy(update={"port": smtp[1]})})
    directory = TenantDirectory(
        TenantsConfig.model_validate(
            {**config.model_dump(), "tenants": [moved, *config.tenants[1:]]}
        )
    )
    async with httpx.AsyncClient(timeout=settings.send_timeout.total_seconds()) as http:
        yield OutboundHandler(store, directory, settings, senders(settings, http))


def inbound(
    channel: str = "whatsapp",
    *,
    hours_ago: float = 1,
    mid: str = "wamid.in.1",
    tenant: str = "acme",
) -> MessageEvent:
    users = {"whatsapp": "447911123456", "messenger": "6789012345678", "sms": "+447911123456"}
    business = {"whatsapp": WA_NUMBER, "messenger": PAGE, "sms": "+13177933221"}
    event = message_event(
        tenant_id=tenant,
        provider_message_id=mid,
        channel=channel,
        provider="twilio" if channel == "sms" else "meta",
        channel_user_id=users[channel],
        phone=None if channel == "messenger" else "+447911123456",
        occurred_at=datetime.now(UTC) - timedelta(hours=hours_ago),
    )
    account = event.business.model_copy(update={"channel_account_id": business[channel]})
    return event.model_copy(update={"business": account})


async def a_thread(
    messages: MessagesHandler,
    client: GatewayClient,
    event: MessageEvent,
    key: dict[str, str] = ACME,
) -> str:
    await messages.handle_batch([event])
    [thread] = (await client.get("/v1/threads", headers=key)).json()["items"]
    return str(thread["id"])


async def send(
    client: GatewayClient,
    handler: OutboundHandler,
    thread_id: str,
    body: dict[str, Any],
    key: dict[str, str] = ACME,
) -> dict[str, Any]:
    """Reply through the API, then let the worker handle the record it published."""
    answer = await client.post(f"/v1/threads/{thread_id}/messages", json=body, headers=key)
    assert answer.status_code == 202, answer.text
    message = answer.json()
    await handler.handle(event_of(message, key))
    return await current(client, message["id"], thread_id, key)


def event_of(
    message: dict[str, Any], key: dict[str, str] = ACME, attempt: int = 1
) -> OutboundEvent:
    return OutboundEvent(
        event_id=outbound_event_id(message["id"], attempt),
        tenant_id="acme" if key is ACME else "globex",
        message_id=message["id"],
        thread_id=message["thread_id"],
        channel=message["channel"],
        recipient="x",
        attempt=attempt,
        requested_at=datetime.now(UTC),
    )


async def current(
    client: GatewayClient, message_id: str, thread_id: str, key: dict[str, str] = ACME
) -> dict[str, Any]:
    page = (await client.get(f"/v1/threads/{thread_id}/messages", headers=key)).json()
    [found] = [m for m in page["items"] if m["id"] == message_id]
    return found  # type: ignore[no-any-return]


async def test_whatsapp_text_with_its_reply_context_is_sent_then_read(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound())
    quoted = message_event_id("whatsapp", "meta", "wamid.in.1")
    sent = await send(client, handler, thread, {"text": "Yes, 9:00", "reply_to": str(quoted)})
    [body] = graph.sent
    assert body == {
        "account": WA_NUMBER,
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447911123456",
        "type": "text",
        "text": {"preview_url": False, "body": "Yes, 9:00"},
        "context": {"message_id": "wamid.in.1"},
        "_id": sent["provider_message_id"],
    }
    assert sent["status"] == "sent"
    assert sent["reply_to"]["id"] == str(quoted)
    statuses = StatusesHandler(handler.store, handler.tenants)
    for status in ("delivered", "read"):
        await statuses.handle(
            status_event(provider_message_id=sent["provider_message_id"], status=status)
        )
    assert (await current(client, sent["id"], thread))["status"] == "read"


async def test_a_record_delivered_twice_sends_once(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound())
    sent = await send(client, handler, thread, {"text": "Once"})
    await handler.handle(event_of(sent))
    assert len(graph.sent) == 1
    assert (await current(client, sent["id"], thread))["status"] == "sent"


async def test_a_send_without_an_answer_is_unknown_and_sent_again_only_on_retry(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound())
    graph.slow_next(3)  # past the 1 s send timeout: the provider got it, we got no answer
    sent = await send(client, handler, thread, {"text": "Did it go?"})
    assert sent["status"] == "unknown"
    await handler.handle(event_of(sent))  # delivered again
    assert len(graph.sent) == 1
    retried = await client.post(f"/v1/messages/{sent['id']}/retry", headers=ACME)
    assert retried.status_code == 202
    await handler.handle(event_of(sent, attempt=2))
    assert len(graph.sent) == 2
    assert (await current(client, sent["id"], thread))["status"] == "sent"


async def test_a_rate_limit_is_waited_out(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound())
    graph.fail_next(130429, "Rate limit hit", status=429, retry_after=0.2)
    sent = await send(client, handler, thread, {"text": "Busy day"})
    assert len(graph.sent) == 2
    assert sent["status"] == "sent"


async def test_a_refusal_fails_with_the_providers_code_and_131047_after_acceptance_too(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound())
    graph.fail_next(131026, "Message undeliverable", details="Receiver is incapable")
    refused = await send(client, handler, thread, {"text": "Hello?"})
    assert refused["status"] == "failed"
    assert refused["status_error"] == {"code": "131026", "title": "Receiver is incapable"}
    accepted = await send(client, handler, thread, {"text": "Hello again"})
    assert accepted["status"] == "sent"
    error = {"code": "131047", "title": "Re-engagement message"}
    await StatusesHandler(handler.store, handler.tenants).handle(
        status_event(
            provider_message_id=accepted["provider_message_id"], status="failed", error=error
        )
    )
    failed = await current(client, accepted["id"], thread)
    assert (failed["status"], failed["status_error"]["code"]) == ("failed", "131047")


async def test_a_whatsapp_image_is_uploaded_then_sent_with_its_caption(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound())
    uploaded = await client.post(
        "/v1/uploads",
        files={"data": ("route.png", b"\x89PNG\r\n\x1a\nroute", "image/png")},
        headers=ACME,
    )
    upload_id = uploaded.json()["upload_id"]
    sent = await send(
        client, handler, thread, {"text": "Meet here", "attachments": [{"upload_id": upload_id}]}
    )
    [media_id] = graph.uploads
    assert b"\x89PNG\r\n\x1a\nroute" in graph.uploads[media_id]
    [body] = graph.sent
    assert (body["type"], body["image"]) == ("image", {"id": media_id, "caption": "Meet here"})
    assert sent["status"] == "sent"


async def test_a_template_when_the_window_is_closed(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound(hours_ago=30))
    template = {"name": "booking_reminder", "language": "en_GB", "parameters": ["Ann", "9:00"]}
    sent = await send(client, handler, thread, {"template": template})
    [body] = graph.sent
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "booking_reminder",
        "language": {"code": "en_GB"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "9:00"}],
            }
        ],
    }
    assert sent["status"] == "sent"


async def test_messenger_replies_and_its_echo_is_not_a_second_message(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    thread = await a_thread(messages, client, inbound("messenger", mid="m_in_1"))
    sent = await send(client, handler, thread, {"text": "Thanks!"})
    [body] = graph.sent
    assert body == {
        "account": PAGE,
        "recipient": {"id": "6789012345678"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Thanks!"},
        "_id": sent["provider_message_id"],
    }
    echo = message_event(
        provider_message_id=sent["provider_message_id"],
        channel="messenger",
        direction="outbound",
        channel_user_id="6789012345678",
        phone=None,
        text="Thanks!",
        occurred_at=datetime.now(UTC),
    )
    await messages.handle_batch([echo])
    page = (await client.get(f"/v1/threads/{thread}/messages", headers=ACME)).json()
    assert [m["id"] for m in page["items"] if m["direction"] == "outbound"] == [sent["id"]]


async def test_messenger_past_24_hours_uses_the_human_agent_tag(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    graph: GraphSendServer,
) -> None:
    event = inbound("messenger", hours_ago=30, mid="m_in_2", tenant="globex")
    event = event.model_copy(
        update={"business": event.business.model_copy(update={"channel_account_id": GLOBEX_PAGE})}
    )
    thread = await a_thread(messages, client, event, GLOBEX)
    sent = await send(client, handler, thread, {"text": "Sorry for the wait"}, GLOBEX)
    [body] = graph.sent
    assert (body["messaging_type"], body["tag"], body["account"]) == (
        "MESSAGE_TAG",
        "HUMAN_AGENT",
        GLOBEX_PAGE,
    )
    assert sent["status"] == "sent"


async def test_sms_through_twilio_and_an_opt_out_error_records_consent(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    twilio: TwilioSendServer,
    settings: Settings,
) -> None:
    thread = await a_thread(messages, client, inbound("sms", mid="SMin1"))
    sent = await send(client, handler, thread, {"text": "Your tour is at 9"})
    [form] = twilio.sent
    assert {k: form[k] for k in ("To", "From", "Body", "StatusCallback")} == {
        "To": "+447911123456",
        "From": "+13177933221",
        "Body": "Your tour is at 9",
        "StatusCallback": f"{settings.public_base_url}/webhooks/sms/twilio",
    }
    assert sent["provider_message_id"] == form["_id"]
    twilio.fail_next(21610, "Attempt to send to unsubscribed recipient")
    refused = await send(client, handler, thread, {"text": "And tomorrow?"})
    assert (refused["status"], refused["status_error"]["code"]) == ("failed", "21610")
    again = await client.post(f"/v1/threads/{thread}/messages", json={"text": "Hi"}, headers=ACME)
    assert (again.status_code, error_code(again.json())) == (409, "opted_out")


async def test_an_email_reply_threads_with_the_customers_message(
    messages: MessagesHandler,
    client: GatewayClient,
    handler: OutboundHandler,
    smtp: tuple[Mailbox, int],
) -> None:
    mail = MessageEvent.model_validate(
        {
            "event_id": message_event_id("email", "postmark", "<abc@mail.example>"),
            "tenant_id": "acme",
            "channel": "email",
            "provider": "postmark",
            "direction": "inbound",
            "provider_message_id": "abc@mail.example",
            "occurred_at": datetime.now(UTC) - timedelta(hours=2),
            "received_at": datetime.now(UTC),
            "participant": {"channel_user_id": "ann@example.com", "email": "ann@example.com"},
            "business": {"channel_account_id": "inbound@inbound.example.com"},
            "content": {"type": "email", "text": "Can we move to 10?", "subject": "Kayak tour"},
            "email": {"message_id": "abc@mail.example", "references": ["first@mail.example"]},
        }
    )
    thread = await a_thread(messages, client, mail)
    sent = await send(client, handler, thread, {"text": "Yes, 10:00 works."})
    await asyncio.sleep(0.1)
    [received] = smtp[0].messages
    assert received["In-Reply-To"] == "<abc@mail.example>"
    assert received["References"] == "<first@mail.example> <abc@mail.example>"
    assert received["Subject"] == "Re: Kayak tour"
    assert received["To"] == "ann@example.com"
    assert received["From"] == "bookings@acme.example"
    assert received["Message-ID"] == f"<{sent['provider_message_id']}>"
    assert received.get_content().strip() == "Yes, 10:00 works."
    assert sent["status"] == "sent"


async def test_the_reply_box_lists_the_approved_templates_across_pages(
    settings: Settings, graph: GraphSendServer
) -> None:
    graph.templates["102290129340398"] = [
        {
            "name": f"reminder_{n}",
            "language": "en_GB",
            "status": "APPROVED" if n != 1 else "REJECTED",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, see you at {{2}}"}],
        }
        for n in range(5)
    ]
    app = create_app(
        settings.model_copy(update={"graph_api_url": graph.base_url}),
        tenants=load_tenants(FIXTURES / "tenants.toml"),
    )
    async with AsyncTestClient(app=app) as client:
        listed = await client.get("/v1/whatsapp/templates", headers=ACME)
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert [t["name"] for t in items] == [
            "reminder_0",
            "reminder_2",
            "reminder_3",
            "reminder_4",
        ]
        assert {t["parameters"] for t in items} == {2}
        # Globex has no WhatsApp Business Account configured.
        assert (await client.get("/v1/whatsapp/templates", headers=GLOBEX)).status_code == 404
        graph.tokens["102290129340398"] = "rotated"
        refused = await client.get("/v1/whatsapp/templates", headers=ACME)
        assert refused.status_code == 502
