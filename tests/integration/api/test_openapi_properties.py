"""The read API against its own OpenAPI document: schemathesis generates requests for every
``/v1`` threads and customers operation and sends them to the app in process (ASGI, lifespan
and all), over a database the real consumers' handlers filled.

``schemathesis.pytest.from_fixture`` would suit a schema that needs fixtures, but in
schemathesis 4.32 it renames the pytest item through ``Function._nodeid``, which pytest 9.2 no
longer has; each operation is therefore a plain parametrized test driving Hypothesis itself.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import BaseSchema, Case, CheckContext, GenerationMode, HookContext, Response
from schemathesis.core.result import Err, Ok
from schemathesis.python import asgi

from consumers.bookings import BookingsHandler
from consumers.messages import MessagesHandler
from contracts import Settings, load_tenants
from domain.store.customers import CustomerQuery
from domain.store.database import Store
from ingest.app import create_app
from tests.conftest import FIXTURES
from tests.factories import booking_event, message_event
from tests.integration.api.conftest import ACME

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)

#: The threads and customers operations; the webhooks, ``/v1/bookings/events`` (which publish
#: to Kafka) and the ``/v1/events`` stream are left out.
OPERATIONS = (
    "GET /v1/threads",
    "GET /v1/threads/{thread_id}",
    "PATCH /v1/threads/{thread_id}",
    "PUT /v1/threads/{thread_id}/customer",
    "GET /v1/threads/counts",
    "POST /v1/threads/{thread_id}/unread",
    "POST /v1/threads/{thread_id}/notes",
    "DELETE /v1/threads/{thread_id}/notes/{note_id}",
    "GET /v1/messages/search",
    "GET /v1/messages/{message_id}/attachments/{index}",
    "GET /v1/threads/{thread_id}/messages",
    "POST /v1/threads/{thread_id}/read",
    "POST /v1/threads/{thread_id}/messages",
    "POST /v1/messages/{message_id}/retry",
    "GET /v1/customers",
    "GET /v1/customers/export.xlsx",
    "POST /v1/customers",
    "GET /v1/customers/{customer_id}",
    "PATCH /v1/customers/{customer_id}",
    "DELETE /v1/customers/{customer_id}",
    "POST /v1/customers/{customer_id}/merge",
    "GET /v1/customers/{customer_id}/bookings",
    "GET /v1/customers/{customer_id}/guest-bookings",
    "GET /v1/customers/{customer_id}/communications",
    "GET /v1/customers/{customer_id}/threads",
    "GET /v1/customers/{customer_id}/consent",
)
COVERED = r"^/v1/(threads|customers|messages)(/|$)"

#: Statuses the document does not list but docs/api.md gives the read API: unknown or merged ids,
#: an edit that clashes with another customer, a body that breaks its schema.
UNDOCUMENTED_BUT_EXPECTED = {404, 409, 422}

#: Deterministic and small: Hypothesis derives its seed from the test, keeps no example
#: database, and skips its generation-speed health checks (every example is a round trip to
#: MongoDB, which is the point, not a slow strategy).
EXAMPLES = hypothesis.settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
        hypothesis.HealthCheck.data_too_large,
    ],
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
)


@dataclass(frozen=True)
class Seeded:
    """Ids of what the handlers stored, for requests that should find something."""

    threads: list[str]
    customers: list[str]
    messages: list[str]


async def _seed(messages: MessagesHandler, bookings: BookingsHandler, store: Store) -> Seeded:
    await bookings.handle(
        booking_event(
            booking_id="b-1",
            name="Ann Lee",
            phone="+447911100001",
            guests=[
                {"name": "Bob Lee", "email": "bob@example.com", "demographic": "adult"},
                {"name": "Cara Lee", "demographic": "child"},
            ],
        )
    )
    await bookings.handle(
        booking_event(
            booking_id="b-2",
            name="Dan Ray",
            emails=["dan@example.com"],
            phone="+447911100002",
            external_id="crm-2",
            grand_total="250.50",
            currency="EUR",
        )
    )
    events = [
        message_event(
            provider_message_id=f"wamid.1.{n}",
            channel_user_id="447911100001",
            phone="+447911100001",
            occurred_at=T0 + timedelta(minutes=n),
            text=f"message {n} from Ann" + " and more" * 30 * (n == 2),
        )
        for n in range(3)
    ]
    events.append(
        message_event(
            provider_message_id="wamid.2.0",
            direction="outbound",
            channel_user_id="447911100002",
            phone="+447911100002",
            occurred_at=T0 + timedelta(minutes=5),
        )
    )
    events.append(
        message_event(
            provider_message_id="sms-1",
            channel="sms",
            provider="twilio",
            channel_user_id="+447911100003",
            phone="+447911100003",
            occurred_at=T0 + timedelta(minutes=7),
        )
    )
    await messages.handle_batch(events)
    threads = await store.threads.page("acme", {}, below=None, unchanged_since=None, limit=50)
    customers, _ = await store.customers.search("acme", CustomerQuery(), skip=0, limit=50)
    stored = [
        message["_id"]
        for thread in threads
        for message in await store.messages.page(thread["_id"], before=None, after=None, limit=50)
    ]
    # Sorted so the same example draws the same stored record (by position) on every run.
    return Seeded(
        threads=[thread["_id"] for thread in threads],
        customers=[c["_id"] for c in sorted(customers, key=lambda c: c.get("name") or "")],
        messages=stored,
    )


@pytest.fixture
async def seeded(messages: MessagesHandler, bookings: BookingsHandler, store: Store) -> Seeded:
    found = await _seed(messages, bookings, store)
    assert len(found.threads) == 3
    assert len(found.customers) >= 3  # Ann, Dan and Bob, the guest with an email
    return found


def _generated_or(known: list[str], generated: Any) -> st.SearchStrategy[Any]:
    """Some examples keep the generated value, the others use an id the handlers stored."""
    return st.one_of(st.just(generated), st.sampled_from(known))


def _path(context: HookContext) -> str:
    return context.operation.path if context.operation else ""


@pytest.fixture
def api_schema(settings: Settings, seeded: Seeded) -> Iterator[BaseSchema]:
    """The app built as the ``client`` fixture builds it, its schema read from it over ASGI;
    generated ids are often ones that exist, so bodies are not all 404s."""
    app = create_app(settings, tenants=load_tenants(FIXTURES / "tenants.toml"))
    # The tests send the key themselves; no generated Authorization headers.
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=config)
    ids = {
        "thread_id": seeded.threads,
        "customer_id": seeded.customers,
        "message_id": seeded.messages,
    }

    @schema.hook
    def flatmap_path_parameters(_: HookContext, parameters: dict[str, Any] | None) -> Any:
        if not isinstance(parameters, dict):
            return st.just(parameters)
        return st.fixed_dictionaries(
            {
                name: _generated_or(ids[name], value) if name in ids else st.just(value)
                for name, value in parameters.items()
            }
        )

    @schema.hook
    def flatmap_query(context: HookContext, query: dict[str, Any] | None) -> Any:
        if not isinstance(query, dict) or not _path(context).endswith("/messages"):
            return st.just(query)
        anchors = {
            name: _generated_or(seeded.messages, query[name])
            for name in ("before", "after")
            if isinstance(query.get(name), str)
        }
        return st.fixed_dictionaries(anchors).map(lambda chosen: {**query, **chosen})

    #: Body fields naming a customer, by the end of the path that takes them.
    customer_fields = {"/merge": "other_id", "/customer": "customer_id"}

    @schema.hook
    def flatmap_body(context: HookContext, body: Any) -> Any:
        path = _path(context)
        field = next((f for end, f in customer_fields.items() if path.endswith(end)), None)
        if field is None or not isinstance(body, dict) or not isinstance(body.get(field), str):
            return st.just(body)
        return _generated_or(seeded.customers, body[field]).map(
            lambda chosen: {**body, field: chosen}
        )

    yield schema
    # The app's lifespan (Kafka producer, Mongo client) ends with the test, not the process.
    asgi.shutdown_lifespans()


def status_documented_or_expected(_: CheckContext, response: Response, case: Case[Any]) -> None:
    """A documented status, or one docs/api.md gives the read API, answered with its error body."""
    documented = case.operation.responses.status_codes
    if str(response.status_code) in documented:
        return
    assert response.status_code in UNDOCUMENTED_BUT_EXPECTED, (
        f"{response.status_code} is neither documented ({', '.join(documented)}) "
        "nor a status docs/api.md gives the read API"
    )
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"not the API's error body: {response.text[:300]}"
    assert isinstance(error.get("code"), str), f"error without a code: {response.text[:300]}"
    assert isinstance(error.get("message"), str), f"error without a message: {response.text[:300]}"


def _exercise(schema: BaseSchema, label: str, checks: list[Any]) -> None:
    """Positive and negative requests for one operation, each answer put through ``checks``."""
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the document"
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @EXAMPLES
    @hypothesis.given(case=cases)
    def answer(case: Case[Any]) -> None:
        case.call_and_validate(headers=ACME, checks=checks)

    answer()


def test_the_document_lists_exactly_the_operations_tested(api_schema: BaseSchema) -> None:
    """Every threads and customers operation in the document is one the properties cover."""
    results = list(api_schema.include(path_regex=COVERED).get_all_operations())
    assert all(isinstance(r, Ok) for r in results), [r.err() for r in results if isinstance(r, Err)]
    listed = {result.ok().label for result in results if isinstance(result, Ok)}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error_and_only_expected_statuses(api_schema: BaseSchema, label: str) -> None:
    """No generated request gets a 5xx, or a status neither documented nor given by docs/api.md."""
    _exercise(
        api_schema, label, [schemathesis.checks.not_a_server_error, status_documented_or_expected]
    )


@pytest.mark.parametrize("label", OPERATIONS)
def test_bodies_match_the_document(api_schema: BaseSchema, label: str) -> None:
    """Every answer with a documented status has the body the document gives that status."""
    _exercise(api_schema, label, [schemathesis.checks.response_schema_conformance])
