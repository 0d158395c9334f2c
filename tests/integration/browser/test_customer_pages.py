"""The customer pages in a real browser: search by a phone in national format, the analytics
of the bookings posted, tags, a merge with its preview, and the Excel export of the list."""

import asyncio
from typing import Any

import openpyxl
import pytest
from playwright.async_api import Page, expect

from contracts import BookingEvent
from ingest.api.export import COLUMNS
from tests.factories import booking_event
from tests.integration.browser.conftest import ACME_KEY, Stack, sign_in
from tests.integration.browser.webhooks import post_whatsapp, text
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def ann(booking_id: str, total: str) -> BookingEvent:
    return booking_event(
        booking_id=booking_id,
        grand_total=total,
        name="Ann Lee",
        emails=["ann@example.com"],
        phone="+12015550123",
    )


async def post_bookings(stack: Stack) -> None:
    events = [
        ann("b-ann-1", "100.00"),
        ann("b-ann-2", "50.50"),
        booking_event(
            booking_id="b-annie-1",
            grand_total="30.00",
            name="Annie Lee",
            emails=["annie@example.com"],
            phone="+14155552671",
        ),
    ]
    headers = {"authorization": f"Bearer {ACME_KEY}"}
    for event in events:
        answer = await stack.http.post(
            "/v1/bookings/events", json=event.model_dump(mode="json"), headers=headers
        )
        assert answer.status_code == 202, answer.text

    async def counted() -> list[dict[str, Any]] | None:
        listed = await stack.http.get("/v1/customers", headers=headers)
        items: list[dict[str, Any]] = listed.json()["items"]
        bookings = sum(item["analytics"]["total_bookings"] for item in items)
        return items if len(items) == 2 and bookings == 3 else None

    await eventually(counted, within=30, what="both customers with their bookings")


async def test_find_a_customer_by_phone_see_the_analytics_merge_and_export(
    page: Page, stack: Stack
) -> None:
    await post_bookings(stack)
    # Ann writes on WhatsApp from her booking's phone: her communication, linked by phone.
    await post_whatsapp(
        stack, text("wamid.ann.1", "Do you rent wetsuits?"), name="Ann", wa_id="12015550123"
    )
    await sign_in(page)
    await page.get_by_role("link", name="Customers").click()
    await expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(3)  # the header and both customers

    # A phone in the tenant's national format finds Ann and only Ann.
    await page.get_by_label("Search").fill("(201) 555-0123")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(2)
    await page.get_by_role("link", name="Ann Lee", exact=True).click()

    await expect(page.get_by_role("heading", name="Ann Lee")).to_be_visible()
    analytics = page.get_by_role("region", name="Analytics")
    await expect(analytics).to_contain_text("Total bookings2")
    await expect(analytics).to_contain_text("Total spent£150.50")
    await expect(analytics).to_contain_text("Lifetime value£150.50")
    bookings = page.get_by_role("region", name="Bookings", exact=True)
    await expect(bookings.get_by_role("row").filter(has_text="Kayak tour")).to_have_count(2)
    communications = page.get_by_role("region", name="Communications")
    await expect(communications).to_contain_text("Do you rent wetsuits?", timeout=20_000)

    await page.get_by_label("Add tag").fill("regular")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("button", name="Remove regular")).to_be_visible()

    # Merge Annie into Ann, after the preview shows what Ann will have.
    await page.get_by_role("button", name="Merge another customer into this one").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Find the customer to merge in").fill("annie")
    await dialog.get_by_role("button", name="Find").click()
    await dialog.get_by_role("button", name="Preview merging Annie Lee").click()
    after = dialog.get_by_role("row").filter(has_text="Emails")
    await expect(after).to_contain_text("ann@example.com, annie@example.com")
    await expect(dialog.get_by_role("row").filter(has_text="Bookings")).to_contain_text("3")
    await dialog.get_by_role("button", name="Merge", exact=True).click()
    await expect(analytics).to_contain_text("Total bookings3")
    await expect(analytics).to_contain_text("Total spent£180.50")
    await expect(page.get_by_role("region", name="Profile")).to_contain_text("annie@example.com")
    await page.screenshot(path=stack.screenshots / "customer.png", full_page=True)

    # The list's export: the file of the view, opened as a spreadsheet.
    await page.get_by_role("link", name="← Customers").click()
    await expect(rows).to_have_count(2)
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Export to Excel").click()
    download = await waiting.value
    saved = stack.files / "customers.xlsx"
    await download.save_as(saved)
    sheet = openpyxl.load_workbook(saved, read_only=True).active
    assert sheet is not None
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == [title for title, _ in COLUMNS]
    assert len(table) == 2
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Name"] == "Ann Lee"
    assert row["Emails"] == "ann@example.com; annie@example.com"
    assert row["Tags"] == "regular"
    assert row["Total bookings"] == 3


async def test_an_unknown_writer_linked_by_hand_from_the_chats_page_by_keyboard(
    page: Page, stack: Stack
) -> None:
    """Two conversations, one of them nobody's: reached with the keyboard alone, linked to a
    customer found from the thread's own panel."""
    await post_bookings(stack)
    await post_whatsapp(
        stack, text("wamid.ann.2", "See you Saturday"), name="Ann", wa_id="12015550123"
    )
    await asyncio.sleep(1.1)  # WhatsApp's times are in seconds: the stranger's is newer
    await post_whatsapp(stack, text("wamid.stranger.1", "It's Ann, from my work phone"))
    await sign_in(page)
    conversations = page.get_by_role("list", name="Conversations")
    await expect(conversations.get_by_role("link")).to_have_count(2, timeout=20_000)

    await conversations.get_by_role("link").first.focus()
    await page.keyboard.press("ArrowDown")
    await expect(conversations.get_by_role("link").nth(1)).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="Customer")
    await expect(panel).to_contain_text("Not linked to a customer")
    await expect(page.get_by_text("Consent: not known until")).to_be_visible()

    await panel.get_by_label("Find a customer to link").fill("ann@example.com")
    await panel.get_by_label("Find a customer to link").press("Enter")
    await panel.get_by_role("button", name="Link Ann Lee").click()
    await expect(panel.get_by_role("link", name="Ann Lee")).to_be_visible()
    await expect(panel).to_contain_text("Linked by hand.")
    await expect(page.get_by_text("Consent on WhatsApp: marketing not captured")).to_be_visible()

    await panel.get_by_role("link", name="Ann Lee").click()
    communications = page.get_by_role("region", name="Communications")
    await expect(communications).to_contain_text("It's Ann, from my work phone")
    await expect(communications).to_contain_text("See you Saturday")


async def test_on_a_phone_sized_screen_one_pane_at_a_time(page: Page, stack: Stack) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await post_whatsapp(stack, text("wamid.phone.1", "Hello from my phone"))
    await sign_in(page)
    conversations = page.get_by_role("list", name="Conversations")
    await conversations.get_by_role("link").filter(has_text="Hello from my phone").click()
    log = page.get_by_role("log", name="Messages")
    await expect(log).to_contain_text("Hello from my phone")
    await expect(conversations).to_be_hidden()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    await page.get_by_role("link", name="Back to the conversations").click()
    await expect(conversations).to_be_visible()
    await expect(log).to_be_hidden()
