"""Consent choices (v1.1): every one a person makes on a channel is kept, as received.

Kept by the participant's keys within the channel, so a choice made before the person is
linked to a customer is theirs once they are.
"""

from dataclasses import dataclass
from datetime import datetime

from contracts import (
    BookingConsent,
    Channel,
    ConsentEvent,
    ConsentStatus,
    ConsentTopic,
    StatusEvent,
    change_event_id,
)
from domain.documents import ConsentEventDocument, CustomerDocument
from domain.store.database import Store
from matchers import keys
from matchers.participants import participant_keys


class ConsentService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, events: list[ConsentEvent]) -> None:
        await self.store.consents.keep([consent_document(event) for event in events])


def consent_document(event: ConsentEvent) -> ConsentEventDocument:
    return {
        "_id": str(event.event_id),
        "tenant_id": event.tenant_id,
        "channel": str(event.channel),
        "participant_keys": participant_keys(event.channel, event.participant),
        "business_account": event.business.channel_account_id,
        "topic": str(event.topic),
        "status": str(event.status),
        "source": event.source,
        "keyword": event.keyword,
        "provider_message_id": event.provider_message_id,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
    }


#: The channels and topics a customer's consent is shown for.
CHANNELS = tuple(str(channel) for channel in Channel)
TOPICS = tuple(str(topic) for topic in ConsentTopic)
NOT_CAPTURED = "not_captured"

#: Send errors that mean the person opted out (Twilio 21610: replied STOP) or blocked the
#: sender (Twilio 63014), and the topic each revokes.
OPT_OUT_ERRORS = {"21610": ConsentTopic.ALL, "63014": ConsentTopic.ALL}


@dataclass(frozen=True, slots=True)
class ConsentChoice:
    """One choice, from a message, a receipt or a booking form."""

    channel: str
    topic: str
    status: str
    occurred_at: datetime
    source: str
    business_account: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentView:
    """The latest choice per channel and topic (``not_captured`` where there is none), and
    every choice oldest first."""

    items: list[ConsentChoice | tuple[str, str]]
    history: list[ConsentChoice]

    def summary(self) -> dict[str, dict[str, str]]:
        """``{channel: {topic: status}}`` for the customer detail."""
        found: dict[str, dict[str, str]] = {}
        for item in self.items:
            if isinstance(item, ConsentChoice):
                found.setdefault(item.channel, {})[item.topic] = item.status
            else:
                channel, topic = item
                found.setdefault(channel, {})[topic] = NOT_CAPTURED
        return found


async def consent_of(store: Store, tenant_id: str, customer_id: str) -> ConsentView:
    """The customer's consent: what was chosen in their conversations (under the keys of the
    threads linked to them, so a choice made before the link counts once it is made) and on
    their bookings' forms. The latest ``occurred_at`` decides per channel and topic."""
    threads = await store.threads.of_customer(tenant_id, customer_id)
    keyed = {(thread["channel"], key) for thread in threads for key in thread["participant_keys"]}
    profile = await store.customers.get(tenant_id, customer_id)
    if profile is not None:
        keyed |= _profile_keys(profile)
    history: list[ConsentChoice] = [
        ConsentChoice(
            channel=doc["channel"],
            topic=doc["topic"],
            status=doc["status"],
            occurred_at=doc["occurred_at"],
            source=doc["source"],
            business_account=doc["business_account"],
        )
        for doc in await store.consents.of_participants(
            tenant_id, sorted({key for _, key in keyed})
        )
        if any((doc["channel"], key) in keyed for key in doc["participant_keys"])
    ]
    for booking in await store.bookings.consents_of_customer(tenant_id, customer_id):
        for given in booking.get("customer", {}).get("consents") or []:
            consent = BookingConsent.model_validate(given)
            for channel in [str(consent.channel)] if consent.channel else CHANNELS:
                history.append(
                    ConsentChoice(
                        channel=channel,
                        topic=str(consent.topic),
                        status=str(consent.status),
                        occurred_at=consent.occurred_at,
                        source="booking_form",
                    )
                )
    history.sort(key=lambda choice: (choice.occurred_at, choice.source))
    latest: dict[tuple[str, str], ConsentChoice] = {}
    for choice in history:
        latest[(choice.channel, choice.topic)] = choice
    items: list[ConsentChoice | tuple[str, str]] = [
        latest.get((channel, topic), (channel, topic)) for channel in CHANNELS for topic in TOPICS
    ]
    return ConsentView(items=items, history=history)


def _profile_keys(profile: CustomerDocument) -> set[tuple[str, str]]:
    """(channel, participant key) of the profile's own identifiers, so a choice made by a
    person who never wrote is theirs too: the phone on WhatsApp and SMS, each email, each
    channel identity."""
    found: set[tuple[str, str]] = set()
    if phone := profile.get("phone"):
        found |= {(str(c), keys.phone_participant(phone)) for c in (Channel.WHATSAPP, Channel.SMS)}
    found |= {(str(Channel.EMAIL), keys.email_participant(e)) for e in profile.get("emails") or []}
    for identity in profile.get("channel_identities") or []:
        user = identity["channel_user_id"]
        found |= {
            (identity["channel"], keys.id_participant(user)),
            (identity["channel"], keys.user_participant(user)),
        }
    return found


def send_error_consent(event: StatusEvent) -> ConsentEventDocument | None:
    """The revoke a failed send means, when its error says the person opted out or blocked
    the sender."""
    if event.error is None or event.error.code not in OPT_OUT_ERRORS:
        return None
    return {
        "_id": str(change_event_id("consent", event.channel, event.provider, str(event.event_id))),
        "tenant_id": event.tenant_id,
        "channel": str(event.channel),
        "participant_keys": participant_keys(event.channel, event.participant),
        "business_account": "",
        "topic": str(OPT_OUT_ERRORS[event.error.code]),
        "status": str(ConsentStatus.REVOKED),
        "source": "send_error",
        "keyword": None,
        "provider_message_id": event.provider_message_id,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
    }
