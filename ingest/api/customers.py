"""``/v1/customers``: profiles, their bookings and communications, and the dashboard's edits."""

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from contracts import Tenant
from domain.consents import consent_of
from domain.customers import CustomerChanges, CustomerError, CustomerService
from domain.store.customers import CustomerQuery
from domain.store.database import Store
from ingest.api.cursors import Cursors
from ingest.api.customer_errors import handle_customer_error
from ingest.api.inbox import ThreadFilters
from ingest.api.schemas.customers import Booking as BookingOut
from ingest.api.schemas.customers import (
    BookingPage,
    CommunicationPage,
    Customer,
    CustomerConsent,
    CustomerIn,
    CustomerPage,
    CustomerPatch,
    CustomerSort,
    GuestBookingPage,
    MergeIn,
)
from ingest.api.schemas.customers import Communication as CommunicationOut
from ingest.api.schemas.customers import GuestBooking as GuestBookingOut
from ingest.api.schemas.errors import errors
from ingest.api.schemas.threads import ThreadPage
from ingest.api.threads import Limit, thread_page
from matchers import normalise_phone, phone_match_key

Page = Annotated[int, QueryParameter(ge=1, le=100_000, description="1 is the first page")]
PerPage = Annotated[int, QueryParameter(ge=1, le=200)]


def customer_query(
    tenant: Tenant, q: str | None, *, source: str | None, tag: str | None, sort: str
) -> CustomerQuery:
    """The customer list's search as ``q`` and the filters give it: a phone in any format
    (read in the tenant's region) matches by its match key."""
    text = (q or "").strip() or None
    phone = normalise_phone(text, tenant.default_region) if text else None
    return CustomerQuery(
        text=text,
        phone_key=phone_match_key(phone) if phone else None,
        source=source,
        tag=tag,
        sort=sort,
    )


class CustomersApi(Controller):
    path = "/v1/customers"
    tags = ("customers",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)
    exception_handlers = {CustomerError: handle_customer_error}  # noqa: RUF012

    @get("/", responses=errors())
    async def search(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                description="part of the name, an email, a phone in any format or the "
                "external id; case is ignored",
            ),
        ] = None,
        source: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        sort: FromQuery[CustomerSort] = "-created_at",
        page: Page = 1,
        per_page: PerPage = 50,
    ) -> CustomerPage:
        query = customer_query(tenant, q, source=source, tag=tag, sort=sort)
        found, total = await store.customers.search(
            tenant.id, query, skip=(page - 1) * per_page, limit=per_page
        )
        return CustomerPage(
            items=[Customer.from_document(doc) for doc in found],
            page=page,
            per_page=per_page,
            total=total,
        )

    @post("/", status_code=201, responses=errors(409, 422))
    async def create(
        self,
        tenant: NamedDependency[Tenant],
        customer_service: NamedDependency[CustomerService],
        data: JSONBody[CustomerIn],
    ) -> Customer:
        """A person added on the dashboard; earlier conversations with their email, phone or
        channel identities are linked to them."""
        changes = CustomerChanges(data.model_dump(mode="json"), frozenset(data.model_fields_set))
        return Customer.from_document(await customer_service.create(tenant, changes))

    @get("/{customer_id:str}", responses=errors(404))
    async def detail(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
    ) -> Customer:
        """404 with ``details.merged_into`` for a customer merged into another; with the
        customer's consent per channel and topic."""
        document = await customer_service.get(tenant, customer_id)
        return Customer.from_document(document, await consent_of(store, tenant.id, customer_id))

    @get("/{customer_id:str}/consent", responses=errors(404))
    async def consent(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
    ) -> CustomerConsent:
        """(v1.1) The latest consent choice per channel and topic (``not_captured`` where
        none was made), and every choice, with when and where it was made."""
        await customer_service.get(tenant, customer_id)
        return CustomerConsent.from_view(await consent_of(store, tenant.id, customer_id))

    @patch("/{customer_id:str}", responses=errors(404, 409, 422))
    async def update(
        self,
        tenant: NamedDependency[Tenant],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
        data: JSONBody[CustomerPatch],
    ) -> Customer:
        changes = CustomerChanges(data.model_dump(mode="json"), frozenset(data.model_fields_set))
        return Customer.from_document(await customer_service.update(tenant, customer_id, changes))

    @delete("/{customer_id:str}", status_code=204, responses=errors(404))
    async def remove(
        self,
        tenant: NamedDependency[Tenant],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
    ) -> None:
        """Threads and communications become unlinked; bookings keep their snapshot."""
        await customer_service.delete(tenant, customer_id)

    @post("/{customer_id:str}/merge", status_code=200, responses=errors(404, 409, 422))
    async def merge(
        self,
        tenant: NamedDependency[Tenant],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
        data: JSONBody[MergeIn],
    ) -> Customer:
        """Move everything of ``other_id`` to this customer; ``other_id`` then answers 404
        with ``merged_into``."""
        survivor = await customer_service.merge(tenant, customer_id, data.other_id)
        return Customer.from_document(survivor)

    @get("/{customer_id:str}/bookings", responses=errors(404))
    async def bookings(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
        page: Page = 1,
        per_page: PerPage = 50,
    ) -> BookingPage:
        """Bookings made as primary booker, latest start first."""
        await customer_service.get(tenant, customer_id)
        found, total = await store.bookings.page(
            tenant.id,
            customer_id=customer_id,
            as_guest=False,
            skip=(page - 1) * per_page,
            limit=per_page,
        )
        items = [BookingOut.from_document(doc) for doc in found]
        return BookingPage(items=items, page=page, per_page=per_page, total=total)

    @get("/{customer_id:str}/guest-bookings", responses=errors(404))
    async def guest_bookings(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
        page: Page = 1,
        per_page: PerPage = 50,
    ) -> GuestBookingPage:
        """Bookings someone else made with this customer as a named guest."""
        await customer_service.get(tenant, customer_id)
        found, total = await store.bookings.page(
            tenant.id,
            customer_id=customer_id,
            as_guest=True,
            skip=(page - 1) * per_page,
            limit=per_page,
        )
        items = [GuestBookingOut.from_document(doc, customer_id) for doc in found]
        return GuestBookingPage(items=items, page=page, per_page=per_page, total=total)

    @get("/{customer_id:str}/communications", responses=errors(404))
    async def communications(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
        page: Page = 1,
        per_page: PerPage = 50,
    ) -> CommunicationPage:
        """Every message with the customer on any channel, newest first."""
        await customer_service.get(tenant, customer_id)
        found, total = await store.messages.of_customer(
            tenant.id, customer_id, skip=(page - 1) * per_page, limit=per_page
        )
        items = [CommunicationOut.from_document(doc) for doc in found]
        return CommunicationPage(items=items, page=page, per_page=per_page, total=total)

    @get("/{customer_id:str}/threads", responses=errors(404))
    async def threads(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        cursors: NamedDependency[Cursors],
        customer_service: NamedDependency[CustomerService],
        customer_id: FromPath[str],
        limit: Limit = 50,
        cursor: FromQuery[str | None] = None,
    ) -> ThreadPage:
        """The customer's threads on every channel, newest activity first."""
        await customer_service.get(tenant, customer_id)
        filters = ThreadFilters(customer_id=customer_id)
        return await thread_page(store, tenant, filters, limit, cursor, cursors)
