"""The Chats page in a real browser: a signed webhook appears without a reload, its image is
shown, a note is added, a resolved thread reopens on the customer's next message."""

import base64
import hashlib

import pytest
from playwright.async_api import Page, Request, expect

from tests.integration.browser.conftest import Stack, sign_in
from tests.integration.browser.webhooks import png, post_whatsapp, post_whatsapp_status, text

pytestmark = [pytest.mark.integration, pytest.mark.browser]


async def test_a_conversation_from_first_message_to_resolved_and_reopened(
    page: Page, stack: Stack
) -> None:
    await sign_in(page)
    conversations = page.get_by_role("list", name="Conversations")
    await expect(conversations).to_contain_text("No conversations here.")

    # A webhook posted now shows in the open list without a reload.
    await post_whatsapp(stack, text("wamid.browser.1", "Is the kayak tour on tomorrow?"))
    thread = conversations.get_by_role("link").filter(has_text="Sheena Nelson")
    await expect(thread).to_contain_text("Is the kayak tour on tomorrow?", timeout=20_000)
    await expect(thread).to_contain_text("WhatsApp")
    await expect(thread.get_by_label("1 unread")).to_be_visible()

    image = png()
    stack.graph.add("1003383421387256", image, "image/png")
    await post_whatsapp(
        stack,
        {
            "id": "wamid.browser.2",
            "type": "image",
            "image": {
                "id": "1003383421387256",
                "mime_type": "image/png",
                "sha256": base64.b64encode(hashlib.sha256(image).digest()).decode(),
                "caption": "our group",
            },
        },
    )
    await expect(thread.get_by_label("2 unread")).to_be_visible(timeout=20_000)

    await thread.click()
    log = page.get_by_role("log", name="Messages")
    await expect(log).to_contain_text("Is the kayak tour on tomorrow?")
    picture = log.get_by_role("img", name="our group")
    await expect(picture).to_be_visible(timeout=20_000)
    await page.wait_for_function(
        "image => image.complete && image.naturalWidth === 240", arg=await picture.element_handle()
    )
    await expect(thread.get_by_label("2 unread")).to_have_count(0)
    await expect(page.get_by_text("Reply window open until")).to_be_visible()

    # A note: in the timeline, by its author, never sent.
    await page.get_by_label("Add a note (only staff see notes)").fill("Called back: it is on.")
    await page.get_by_role("button", name="Add note").click()
    note = log.locator(".message.note")
    await expect(note).to_contain_text("Called back: it is on.")
    await expect(note).to_contain_text("Note by Dana")

    await page.get_by_role("button", name="Assign to me").click()
    await expect(page.get_by_text("Assigned to Dana")).to_be_visible()
    await page.get_by_label("Add label").fill("vip")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(thread).to_contain_text("vip")

    await page.screenshot(path=stack.screenshots / "chats.png")

    # Resolved: it leaves the open list and is found under Resolved.
    await page.get_by_role("combobox", name="Status").select_option("resolved")
    await expect(thread).to_have_count(0)
    tabs = page.get_by_role("tablist", name="Conversations by status")
    await tabs.get_by_role("tab", name="Resolved").click()
    await expect(thread).to_be_visible()

    # The customer writes again: the thread reopens, leaves Resolved and is open once more.
    await post_whatsapp(stack, text("wamid.browser.3", "Can I bring my dog?"))
    await expect(log).to_contain_text("Can I bring my dog?", timeout=20_000)
    await expect(thread).to_have_count(0, timeout=20_000)
    await expect(page.get_by_role("combobox", name="Status")).to_have_value("open")
    await tabs.get_by_role("tab", name="Open").click()
    await expect(thread).to_contain_text("Can I bring my dog?")


async def test_the_live_list_resumes_after_the_connection_drops(page: Page, stack: Stack) -> None:
    """The stream is cut while a message arrives; the page reconnects with the last event's
    id and shows the message (nothing reloads the list on reconnecting, so only the resumed
    stream can bring it)."""
    streams: list[dict[str, str]] = []

    def opened(request: Request) -> None:
        if "/v1/events" in request.url:
            streams.append(request.headers)

    page.on("request", opened)
    await sign_in(page)
    await post_whatsapp(stack, text("wamid.browser.before", "Hello there"))
    conversations = page.get_by_role("list", name="Conversations")
    await expect(conversations).to_contain_text("Hello there", timeout=20_000)

    await page.context.set_offline(True)
    await page.evaluate("window.dispatchEvent(new Event('offline'))")
    await expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    await post_whatsapp(stack, text("wamid.browser.offline", "Sent while you were away"))
    await page.wait_for_timeout(1000)
    await expect(conversations).not_to_contain_text("Sent while you were away")
    await page.context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=20_000)
    await expect(conversations).to_contain_text("Sent while you were away", timeout=20_000)
    assert "last-event-id" not in streams[0]
    assert streams[-1].get("last-event-id"), "the stream was not resumed"


async def test_a_reply_goes_out_and_comes_back_read(page: Page, stack: Stack) -> None:
    await sign_in(page)
    await post_whatsapp(stack, text("wamid.browser.ask", "What time do we meet?"))
    conversations = page.get_by_role("list", name="Conversations")
    await conversations.get_by_role("link").filter(has_text="What time do we meet?").click()
    await page.get_by_label("Reply", exact=True).fill("At 9:00 by the boathouse.")
    await page.get_by_role("button", name="Send", exact=True).click()
    log = page.get_by_role("log", name="Messages")
    mine = log.locator(".message.outbound").filter(has_text="At 9:00 by the boathouse.")
    await expect(mine.locator(".ticks")).to_have_attribute("title", "Sent", timeout=20_000)
    [sent] = stack.graph_api.sent
    assert sent["text"] == {"preview_url": False, "body": "At 9:00 by the boathouse."}
    await post_whatsapp_status(stack, sent["_id"], "delivered")
    await post_whatsapp_status(stack, sent["_id"], "read")
    await expect(mine.locator(".ticks")).to_have_attribute("title", "Read", timeout=20_000)
    await expect(page.get_by_label("Reply", exact=True)).to_have_value("")
