"""(v1.1) ``GET /v1/customers/export.xlsx``: the customer list's current view as a workbook
that Excel (here openpyxl) opens, one row per customer under a header row."""

import io
import tracemalloc
from datetime import UTC, datetime

import openpyxl
import pytest

from consumers.bookings import BookingsHandler
from domain.store.database import Store
from ingest.api.export import COLUMNS, XLSX
from tests.factories import booking_event
from tests.integration.api.conftest import ACME, GLOBEX
from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration


def sheet_rows(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return list(book["Customers"].iter_rows(values_only=True))


async def test_the_view_as_filtered_and_sorted_with_every_column(
    bookings: BookingsHandler, client: GatewayClient
) -> None:
    await bookings.handle(
        booking_event(
            booking_id="b-1",
            name="Zoë Núñez",
            emails=["zoe@example.com"],
            phone="+447911100001",
            grand_total="120.50",
        )
    )
    await bookings.handle(
        booking_event(
            booking_id="b-2",
            name="Zoë Núñez",
            emails=["zoe@example.com"],
            phone="+447911100001",
            grand_total="30.00",
        )
    )
    await bookings.handle(
        booking_event(booking_id="b-3", name='=HYPERLINK("x")', emails=["eve@example.com"])
    )
    await bookings.handle(
        booking_event(
            booking_id="b-4", name="Bob Stone", emails=["bob@example.com"], source="dashboard"
        )
    )
    answer = await client.get("/v1/customers/export.xlsx?sort=name", headers=ACME)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert "attachment" in answer.headers["content-disposition"]
    rows = sheet_rows(answer.content)
    assert rows[0] == tuple(title for title, _ in COLUMNS)
    names = [row[0] for row in rows[1:]]
    listed = (await client.get("/v1/customers?sort=name", headers=ACME)).json()["items"]
    assert names == [customer["name"] for customer in listed]
    zoe = next(row for row in rows if row[0] == "Zoë Núñez")
    column = {title: index for index, (title, _) in enumerate(COLUMNS)}
    assert zoe[column["Emails"]] == "zoe@example.com"
    assert zoe[column["Phone"]] == "+447911100001"
    assert zoe[column["Total bookings"]] == 2
    assert zoe[column["Total spent"]] == pytest.approx(150.50)
    assert isinstance(zoe[column["Customer since"]], datetime)
    assert '=HYPERLINK("x")' in names  # kept as text, never a formula
    online = sheet_rows(
        (await client.get("/v1/customers/export.xlsx?source=dashboard", headers=ACME)).content
    )
    assert [row[0] for row in online[1:]] == ["Bob Stone"]
    by_phone = sheet_rows(
        (
            await client.get("/v1/customers/export.xlsx?q=%2B44%207911%20100001", headers=ACME)
        ).content
    )
    assert [row[0] for row in by_phone[1:]] == ["Zoë Núñez"]
    theirs = sheet_rows((await client.get("/v1/customers/export.xlsx", headers=GLOBEX)).content)
    assert theirs == rows[:1]


async def test_memory_stays_flat_with_the_row_count(store: Store, client: GatewayClient) -> None:
    """Exporting five times the customers does not take five times the memory."""

    async def fill(count: int, start: int) -> None:
        now = datetime.now(UTC)
        await store.database["customers"].insert_many(
            [
                {
                    "_id": f"c{n}",
                    "tenant_id": "acme",
                    "merged_into": None,
                    "name": f"Person {n}",
                    "emails": [f"p{n}@example.com"],
                    "source": "online",
                    "tags": ["vip"],
                    "created_at": now,
                    "customer_since": now,
                    "analytics": {
                        "total_bookings": 1,
                        "total_spent": [{"currency": "GBP", "amount": "10.00"}],
                        "lifetime_value": [{"currency": "GBP", "amount": "10.00"}],
                        "last_booking_at": now,
                        "last_contact_at": None,
                        "customer_since": now,
                    },
                }
                for n in range(start, start + count)
            ]
        )

    async def peak() -> int:
        tracemalloc.start()
        try:
            answer = await client.get("/v1/customers/export.xlsx", headers=ACME)
            assert answer.status_code == 200
            size = len(answer.content)
            del answer
            return tracemalloc.get_traced_memory()[1] - size  # not the body this test holds
        finally:
            tracemalloc.stop()

    await fill(1000, 0)
    small = await peak()
    await fill(4000, 1000)
    large = await peak()
    assert large < 2 * small, (small, large)
