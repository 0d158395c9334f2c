"""``/v1/threads``: the Chats page's conversations and their messages."""

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from contracts import Channel, Tenant
from domain import threads, work
from domain.customers import CustomerError, CustomerService
from domain.documents import ThreadDocument
from domain.linking import LinkRefused, link_by_hand
from domain.store.database import Store
from domain.store.search import words
from domain.work import WorkRefused, thread_counts, work_changes
from ingest.api.cursors import Cursors
from ingest.api.customer_errors import handle_customer_error
from ingest.api.inbox import ThreadFilters, list_threads, message_page, thread_views
from ingest.api.schemas.errors import errors
from ingest.api.schemas.threads import (
    Message,
    MessagePage,
    NoteIn,
    StatusCounts,
    Thread,
    ThreadCountsOut,
    ThreadCustomerIn,
    ThreadPage,
    ThreadPatch,
    ThreadStatus,
)
from ingest.errors import BadRequest, Conflict, NotFound, Unprocessable
from matchers import normalise_phone

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="items per page")]


async def thread_page(
    store: Store,
    tenant: Tenant,
    filters: ThreadFilters,
    limit: int,
    cursor: str | None,
    cursors: Cursors,
) -> ThreadPage:
    found, next_cursor = await list_threads(
        store, tenant.id, filters, limit=limit, cursor=cursor, cursors=cursors
    )
    views = await thread_views(store, tenant.id, found, human_agent=tenant.human_agent)
    return ThreadPage(items=views, next_cursor=next_cursor)


def _searched_for(q: str | None, region: str) -> tuple[tuple[str, ...], str | None]:
    """The E.164 number ``q`` spells when it is a phone, else its words."""
    if q is None:
        return (), None
    found = tuple(words(q))
    if not found:
        raise BadRequest(
            "q has no words", details=[{"field": "q", "message": "must contain a word"}]
        )
    phone = normalise_phone(q, region)
    return ((), phone) if phone else (found, None)


class ThreadsApi(Controller):
    path = "/v1/threads"
    tags = ("threads",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @get("/", responses=errors())
    async def list(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        cursors: NamedDependency[Cursors],
        channel: FromQuery[Channel | None] = None,
        customer_id: FromQuery[str | None] = None,
        unread: FromQuery[bool | None] = None,
        status: Annotated[
            ThreadStatus | None,
            QueryParameter(description="(v1.1) a snoozed thread past its time is open"),
        ] = None,
        assignee: Annotated[
            str | None, QueryParameter(description="(v1.1) an agent id, or none: unassigned")
        ] = None,
        label: Annotated[str | None, QueryParameter(description="(v1.1) one label")] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="(v1.1) words of a message, or of the participant's name, email "
                "or phone (a phone in any format); any order, accents and case ignored"
            ),
        ] = None,
        limit: Limit = 50,
        cursor: FromQuery[str | None] = None,
    ) -> ThreadPage:
        """All channels in one list, newest activity first; ``next_cursor`` pages on without
        skipping or repeating a thread while messages arrive. Give a later page the same
        filters as the first."""
        searched, phone = _searched_for(q, tenant.default_region)
        filters = ThreadFilters(
            channel=channel,
            customer_id=customer_id,
            unread=unread,
            status=status,
            assignee=assignee,
            label=label,
            words=searched,
            phone=phone,
        )
        return await thread_page(store, tenant, filters, limit, cursor, cursors)

    @get("/counts", responses=errors())
    async def counts(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        assignee: Annotated[
            str | None, QueryParameter(description="whose open threads to count too")
        ] = None,
    ) -> ThreadCountsOut:
        """(v1.1) Threads per status; ``unassigned`` and ``assignee`` count open threads (a
        snoozed thread past its time is open)."""
        found = await thread_counts(store, tenant.id, assignee, datetime.now(UTC))
        return ThreadCountsOut(
            status=StatusCounts(**found.status),
            unassigned=found.unassigned,
            assignee=found.assignee,
        )

    @get("/{thread_id:str}", responses=errors(404))
    async def detail(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
    ) -> Thread:
        thread = await live_thread(store, tenant.id, thread_id)
        (view,) = await thread_views(store, tenant.id, [thread], human_agent=tenant.human_agent)
        return view

    @patch("/{thread_id:str}", responses=errors(404, 422))
    async def work(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
        data: JSONBody[ThreadPatch],
    ) -> Thread:
        """(v1.1) Change the thread's ``status`` (``snoozed`` needs a future
        ``snoozed_until``), ``assignee`` (null: unassigned) or ``labels``."""
        await live_thread(store, tenant.id, thread_id)
        given = {name: getattr(data, name) for name in data.model_fields_set}
        try:
            changes = work_changes(given, datetime.now(UTC))
        except WorkRefused as refused:
            raise Unprocessable(
                "the thread cannot be changed so",
                # Shaped as the framework's own body errors on every /v1 route.
                details=[{"message": refused.message, "key": refused.field, "source": "body"}],
            ) from refused
        thread = await store.threads.work(tenant.id, thread_id, changes) if changes else None
        thread = thread or await live_thread(store, tenant.id, thread_id)
        (view,) = await thread_views(store, tenant.id, [thread], human_agent=tenant.human_agent)
        return view

    @put(
        "/{thread_id:str}/customer",
        responses=errors(404, 409, 422),
        exception_handlers={CustomerError: handle_customer_error},
    )
    async def link_customer(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        customer_service: NamedDependency[CustomerService],
        thread_id: FromPath[str],
        data: JSONBody[ThreadCustomerIn],
    ) -> Thread:
        """(extension) Link the thread to a customer by hand (``matched_by: manual``), an
        unlinked or ambiguous one or one linked to someone else: its messages become that
        customer's communications, and no rule relinks it later. 404 for an unknown or merged
        customer (``details.merged_into``), 409 for a group's thread."""
        thread = await live_thread(store, tenant.id, thread_id)
        await customer_service.get(tenant, data.customer_id)
        try:
            await link_by_hand(store, tenant.id, thread, data.customer_id)
        except LinkRefused as refused:
            raise Conflict(refused.message) from refused
        thread = await live_thread(store, tenant.id, thread_id)
        (view,) = await thread_views(store, tenant.id, [thread], human_agent=tenant.human_agent)
        return view

    @post("/{thread_id:str}/unread", status_code=204, responses=errors(404))
    async def mark_unread(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
    ) -> None:
        """(v1.1) The customer's last message counts as unread again."""
        await work.mark_unread(store, tenant.id, await live_thread(store, tenant.id, thread_id))

    @post("/{thread_id:str}/notes", status_code=201, responses=errors(404, 422))
    async def add_note(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
        data: JSONBody[NoteIn],
    ) -> Message:
        """(v1.1) A note in the timeline (``direction: note``): never sent to the customer,
        never unread, never the thread's last message."""
        thread = await live_thread(store, tenant.id, thread_id)
        return Message.from_document(await work.add_note(store, thread, data.text, data.author))

    @delete("/{thread_id:str}/notes/{note_id:str}", status_code=204, responses=errors(404))
    async def remove_note(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
        note_id: FromPath[str],
    ) -> None:
        await live_thread(store, tenant.id, thread_id)
        if not await store.messages.remove_note(tenant.id, thread_id, note_id):
            raise NotFound("note not found")

    @get("/{thread_id:str}/messages", responses=errors(404))
    async def messages(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
        limit: Limit = 50,
        before: Annotated[
            str | None, QueryParameter(description="a message id: the messages just older")
        ] = None,
        after: Annotated[
            str | None, QueryParameter(description="a message id: the messages just newer")
        ] = None,
    ) -> MessagePage:
        """Oldest first. Without ``before`` or ``after``: the newest ``limit`` messages."""
        if before and after:
            raise BadRequest("give before or after, not both")
        await live_thread(store, tenant.id, thread_id)
        return await message_page(store, tenant.id, thread_id, before, after, limit)

    @post("/{thread_id:str}/read", status_code=204, responses=errors(404))
    async def mark_read(
        self,
        tenant: NamedDependency[Tenant],
        store: NamedDependency[Store],
        thread_id: FromPath[str],
    ) -> None:
        """Everything in the thread up to now is read: ``unread_count`` becomes 0."""
        thread = await live_thread(store, tenant.id, thread_id)
        await threads.mark_read(store, tenant.id, thread)


async def live_thread(store: Store, tenant_id: str, thread_id: str) -> ThreadDocument:
    """The tenant's thread; 404 otherwise, with ``details.merged_into`` for a thread that
    became another when both turned out to be one participant's."""
    thread = await store.threads.get(tenant_id, thread_id)
    if thread is None:
        raise NotFound("thread not found")
    if survivor := thread.get("merged_into"):
        raise NotFound("thread was merged", details={"merged_into": survivor})
    return thread
