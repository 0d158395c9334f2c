"""(v1.1) Outbound replies on the event log: ``chat.outbound.v1``.

The read API stores a reply as a ``pending`` message before it publishes this event, so the
event names the message and the attempt only; the ``outbound`` worker reads what to send from
the stored message. A retry (``POST /v1/messages/{id}/retry``) publishes the same message
with the next ``attempt``: the worker sends an attempt at most once, and never one older
than the message's current attempt.
"""

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid5

from pydantic import Field

from contracts.base import ContractModel
from contracts.enums import Channel
from contracts.types import Identifier

_NAMESPACE = UUID("5d0f8f0e-2b7c-4f43-9a57-0c7d8f3b6e21")


def outbound_event_id(message_id: str, attempt: int) -> UUID:
    """The event of one attempt at sending a message: the same however often it is published."""
    return uuid5(_NAMESPACE, f"{message_id}#{attempt}")


class OutboundEvent(ContractModel):
    """Send attempt ``attempt`` of the stored outbound message ``message_id``."""

    SCHEMA: ClassVar[str] = "chat.outbound/1"

    event_id: UUID
    tenant_id: Identifier
    message_id: Identifier
    thread_id: Identifier
    channel: Channel
    #: The thread participant's ``channel_user_id``: the record's key is the thread's
    #: messages' key (``{tenant}:{channel}:{recipient}``).
    recipient: Identifier
    attempt: int = Field(ge=1)
    #: When the agent asked for this attempt.
    requested_at: datetime
