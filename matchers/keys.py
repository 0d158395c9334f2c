"""Every identifier key format, in one place.

- **Participant keys** find a conversation's thread within one channel: ``phone:`` (the
  phone's match key), ``user:`` (a WhatsApp business-scoped user id), ``email:`` and ``id:``
  (the channel's own user id).
- **Claim keys** name the identifiers a customer owns in ``identity_claims``: ``external:``,
  ``email:``, ``phone:`` (match key), ``channel:{channel}:{user}``, and ``booking:`` for a
  booking whose customer gave no identifier at all.
- **Stored ids** built from them: a claim per tenant, a booking per tenant, a thread per
  tenant, channel and primary participant key.

Stored documents carry these strings, so a format never changes.
"""

import uuid

from matchers.phones import phone_match_key

#: Namespace of thread ids (UUIDv5). Never change it: ids are stored keys.
_THREAD_NAMESPACE = uuid.UUID("0d8b6f9e-1c55-5a0e-9a43-5b1f1a6a2c11")


def phone_participant(e164: str) -> str:
    """The participant key of a valid E.164 phone: equivalent spellings share it."""
    return f"phone:{phone_match_key(e164)}"


def user_participant(user_id: str) -> str:
    return f"user:{user_id}"


def email_participant(email: str) -> str:
    return f"email:{email.lower()}"


def id_participant(channel_user_id: str) -> str:
    return f"id:{channel_user_id}"


def group_participant(group_id: str) -> str:
    """The key of a group's thread: never one of a person's keys."""
    return f"group:{group_id}"


def external_claim(external_id: str) -> str:
    return f"external:{external_id}"


def email_claim(email: str) -> str:
    return f"email:{email}"


def phone_claim(phone_key: str) -> str:
    """The claim of a phone, by its match key."""
    return f"phone:{phone_key}"


def channel_claim(channel: str, channel_user_id: str) -> str:
    return f"channel:{channel}:{channel_user_id}"


def booking_claim(booking_id: str) -> str:
    """Claims a profile for a booking whose customer gave no identifier, so a replay of the
    booking finds the same profile."""
    return f"booking:{booking_id}"


def claim_id(tenant_id: str, claim: str) -> str:
    """The ``_id`` of a claim: unique per tenant."""
    return f"{tenant_id}|{claim}"


def booking_id(tenant_id: str, booking: str) -> str:
    """The ``_id`` of a stored booking."""
    return f"{tenant_id}:{booking}"


def thread_id(tenant_id: str, channel: str, participant_key: str) -> str:
    """The ``_id`` of a thread: deterministic, so concurrent first messages of one participant
    make one thread."""
    return uuid.uuid5(_THREAD_NAMESPACE, f"{tenant_id}|{channel}|{participant_key}").hex


def webhook_token_id(provider: str, token: str) -> str:
    """The ``_id`` of a used webhook token."""
    return f"{provider}:{token}"
