"""The keys a conversation's participant is found by, within one channel."""

from contracts import Channel, Participant
from matchers.phones import normalise_phone, phone_match_key


def participant_keys(channel: Channel, participant: Participant) -> list[str]:
    """Every key of ``participant``, the thread's primary one first.

    A WhatsApp user seen with a phone and a business-scoped user id has both keys, so a thread
    is found by either; a phone is compared by its match key, so equivalent spellings of one
    number share a thread.
    """
    keys: list[str] = []
    phone = participant.phone and normalise_phone(participant.phone)
    if phone and channel in (Channel.WHATSAPP, Channel.SMS):
        keys.append(f"phone:{phone_match_key(phone)}")
    if participant.user_id and channel is Channel.WHATSAPP:
        keys.append(f"user:{participant.user_id}")
    if participant.email and channel is Channel.EMAIL:
        keys.append(f"email:{participant.email.lower()}")
    if not keys:
        keys.append(f"id:{participant.channel_user_id}")
    return keys


def phone_key(phone: str) -> str:
    return f"phone:{phone_match_key(phone)}"


def email_key(email: str) -> str:
    return f"email:{email.lower()}"


def id_key(channel_user_id: str) -> str:
    return f"id:{channel_user_id}"
