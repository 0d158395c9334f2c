"""Events that change what is already known rather than add a message (v1.1): an edit or
revoke of an earlier message, a participant's new number or user id, and a consent choice.

Each travels on ``chat.messages.v1`` under its conversation's key, so it is ordered with that
conversation's messages, and carries its own ``schema`` header. Consumers apply each one
idempotently and in any order with the message or participant it concerns.
"""

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import ContractModel
from contracts.enums import Channel
from contracts.messages import Business, Content, Participant
from contracts.types import Identifier, ProviderName, UtcDatetime


class EditAction(StrEnum):
    EDIT = "edit"
    REVOKE = "revoke"


class MessageEditEvent(ContractModel):
    """The sender changed an earlier message: new text, caption or media (``edit``), or
    unsent it (``revoke``). The original keeps its id; earlier versions are kept."""

    SCHEMA: ClassVar[str] = "chat.message_edit/1"

    event_id: UUID
    tenant_id: Identifier
    channel: Channel
    provider: ProviderName
    #: The edit's own id (WhatsApp gives an edit its own wamid; Messenger's is derived).
    provider_message_id: Identifier
    target_provider_message_id: Identifier
    action: EditAction
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    participant: Participant
    business: Business
    content: Content | None = Field(default=None, description="the message as edited")

    @model_validator(mode="after")
    def _content_with_edits(self) -> "MessageEditEvent":
        if self.action is EditAction.EDIT and self.content is None:
            raise ValueError("an edit carries the edited content")
        if self.action is EditAction.REVOKE and self.content is not None:
            raise ValueError("a revoke carries no content")
        return self


class IdentityChange(StrEnum):
    #: WhatsApp ``user_changed_number``: the person now writes from another number.
    NUMBER = "number"
    #: WhatsApp ``user_changed_user_id``: their business-scoped user id changed.
    USER_ID = "user_id"


class IdentityEvent(ContractModel):
    """A participant's identity moved: later messages under the new identity are the same
    person's and belong in the same thread."""

    SCHEMA: ClassVar[str] = "chat.identity/1"

    event_id: UUID
    tenant_id: Identifier
    channel: Channel
    provider: ProviderName
    #: The id of the provider's notice (a WhatsApp system message's wamid).
    provider_message_id: Identifier
    change: IdentityChange
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    #: The participant as known before the change.
    participant: Participant
    business: Business
    new_channel_user_id: str | None = None
    new_phone: str | None = Field(default=None, description="E.164")
    new_user_id: str | None = None
    description: str | None = Field(default=None, description="the provider's own wording")

    @model_validator(mode="after")
    def _something_new(self) -> "IdentityEvent":
        if not (self.new_channel_user_id or self.new_phone or self.new_user_id):
            raise ValueError("an identity change names the new number or user id")
        return self


class ConsentTopic(StrEnum):
    MARKETING = "marketing"
    ALL = "all"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    REVOKED = "revoked"


class ConsentEvent(ContractModel):
    """A person gave or revoked consent to be messaged on a channel, by a business sender,
    about a topic: a WhatsApp marketing preference, an SMS STOP or START."""

    SCHEMA: ClassVar[str] = "chat.consent/1"

    event_id: UUID
    tenant_id: Identifier
    channel: Channel
    provider: ProviderName
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    participant: Participant
    business: Business
    topic: ConsentTopic
    status: ConsentStatus
    #: Where it came from: ``whatsapp_user_preferences``, ``twilio_opt_out_type``,
    #: ``sms_keyword``, ``send_error``.
    source: Identifier
    keyword: str | None = Field(default=None, description="STOP, START... as the person wrote")
    #: The message that carried it, when one did.
    provider_message_id: str | None = None
