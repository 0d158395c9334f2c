"""(v1.1) ``GET /v1/customers/export.xlsx``: the customer list as it is filtered and sorted, as
an Excel file.

XlsxWriter in constant-memory mode writes each row to a temporary file as it comes, the rows
are read from MongoDB a batch at a time, and the finished file is streamed and then removed:
memory stays flat however many customers the tenant has. Outside the read API's request
deadline (a large export takes longer), each database read has that deadline instead.
"""

import asyncio
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import pymongo
import xlsxwriter
from litestar import Controller, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, QueryParameter
from litestar.response import File

from contracts import Address, Settings, Tenant
from domain.store.customers import CustomerQuery
from domain.store.database import Store
from ingest.api.customers import customer_query
from ingest.api.schemas.customers import Customer, CustomerSort, Money
from ingest.api.schemas.errors import errors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Customers read per round trip, and written per hand-off to the writer's thread.
BATCH = 500

COLUMNS = (
    ("Name", 28),
    ("Emails", 32),
    ("Phone", 18),
    ("Previous phones", 22),
    ("Address", 40),
    ("Date of birth", 14),
    ("Company", 22),
    ("Source", 12),
    ("External id", 16),
    ("Tags", 20),
    ("Notes", 40),
    ("Total bookings", 14),
    ("Total spent", 16),
    ("Lifetime value", 16),
    ("Last booking", 18),
    ("Last contact", 18),
    ("Customer since", 18),
)


class ExportApi(Controller):
    path = "/v1/customers"
    tags = ("customers",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @get(
        "/export.xlsx",
        responses={
            **errors(),
            200: ResponseSpec(
                str,
                media_type=XLSX,
                description="the matching customers, one row each under a header row",
                generate_examples=False,
            ),
        },
    )
    async def export(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        settings: NamedDependency[Settings],
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        source: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        sort: FromQuery[CustomerSort] = "-created_at",
    ) -> File:
        """(v1.1) The customers ``GET /v1/customers`` lists for the same ``q``, ``source``,
        ``tag`` and ``sort``, every page of them, as an Excel workbook."""
        query = customer_query(tenant, q, source=source, tag=tag, sort=sort)
        handle, name = tempfile.mkstemp(prefix="threadline-export-", suffix=".xlsx")
        os.close(handle)
        path = Path(name)
        try:
            await _write(
                store, tenant.id, query, path, settings.api_database_timeout.total_seconds()
            )
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        return File(
            path=path,
            filename=f"customers-{tenant.id}-{stamp}.xlsx",
            media_type=XLSX,
            background=BackgroundTask(path.unlink, missing_ok=True),
        )


async def _write(
    store: Store, tenant_id: str, query: CustomerQuery, path: Path, deadline: float
) -> None:
    sheet = _Sheet(path)
    try:
        cursor = store.customers.matching(tenant_id, query, batch=BATCH)
        rows: list[list[Any]] = []
        while True:
            with pymongo.timeout(deadline):
                document = await anext(cursor, None)
            if document is not None:
                rows.append(_row(Customer.from_document(document)))
            if len(rows) >= BATCH or (document is None and rows):
                await asyncio.to_thread(sheet.write, rows)
                rows = []
            if document is None:
                break
    finally:
        await asyncio.to_thread(sheet.close)


class _Sheet:
    """One worksheet in constant-memory mode: rows are written in order, once."""

    def __init__(self, path: Path) -> None:
        self._book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "tmpdir": str(path.parent)}
        )
        self._sheet = self._book.add_worksheet("Customers")
        bold = self._book.add_format({"bold": True})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self._money: dict[str, Any] = {}
        for column, (title, width) in enumerate(COLUMNS):
            self._sheet.set_column(column, column, width)
            self._sheet.write_string(0, column, title, bold)
        self._sheet.freeze_panes(1, 0)
        self._next = 1

    def write(self, rows: Iterable[list[Any]]) -> None:
        for row in rows:
            for column, value in enumerate(row):
                self._cell(column, value)
            self._next += 1

    def _cell(self, column: int, value: Any) -> None:
        line = self._next
        if value is None:
            return
        if isinstance(value, datetime):
            self._sheet.write_datetime(line, column, value.replace(tzinfo=None), self._time)
        elif isinstance(value, date):
            self._sheet.write_datetime(line, column, value, self._date)
        elif isinstance(value, Money):
            self._sheet.write_number(line, column, float(value.amount), self._currency(value))
        elif isinstance(value, int):
            self._sheet.write_number(line, column, value)
        else:
            # Text as text: a name starting with "=" is never read as a formula.
            self._sheet.write_string(line, column, str(value))

    def _currency(self, money: Money) -> Any:
        if money.currency not in self._money:
            self._money[money.currency] = self._book.add_format(
                {"num_format": f'#,##0.00 "{money.currency}"'}
            )
        return self._money[money.currency]

    def close(self) -> None:
        self._book.close()


def _row(customer: Customer) -> list[Any]:
    analytics = customer.analytics
    address = customer.address
    return [
        customer.name,
        "; ".join(customer.emails),
        customer.phone,
        "; ".join(customer.previous_phones),
        _address(address) if address else None,
        customer.date_of_birth,
        customer.company_name,
        customer.source,
        customer.external_id,
        ", ".join(customer.tags),
        customer.notes,
        analytics.total_bookings,
        _amount(analytics.total_spent),
        _amount(analytics.lifetime_value),
        analytics.last_booking_at,
        analytics.last_contact_at,
        analytics.customer_since,
    ]


def _address(address: Address) -> str:
    parts = (address.street, address.city, address.state, address.zip, address.country)
    return ", ".join(part for part in parts if part)


def _amount(amounts: list[Money]) -> Money | str | None:
    """One currency as a number in that currency; several as text, each with its own."""
    if not amounts:
        return None
    if len(amounts) == 1:
        return amounts[0]
    return "; ".join(f"{money.amount} {money.currency}" for money in amounts)
