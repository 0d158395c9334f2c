"""The keys a conversation's participant is found by, within one channel."""

from contracts import Channel, MessageEvent, Participant
from matchers import keys
from matchers.phones import normalise_phone


def participant_keys(channel: Channel, participant: Participant) -> list[str]:
    """Every key of ``participant``, the thread's primary one first.

    A WhatsApp user seen with a phone and a business-scoped user id has both keys, so a thread
    is found by either; a phone is compared by its match key, so equivalent spellings of one
    number share a thread.
    """
    found: list[str] = []
    phone = participant.phone and normalise_phone(participant.phone)
    if phone and channel in (Channel.WHATSAPP, Channel.SMS):
        found.append(keys.phone_participant(phone))
    if participant.user_id and channel is Channel.WHATSAPP:
        found.append(keys.user_participant(participant.user_id))
    if participant.email and channel is Channel.EMAIL:
        found.append(keys.email_participant(participant.email))
    if not found:
        found.append(keys.id_participant(participant.channel_user_id))
    return found


def conversation_keys(event: MessageEvent) -> list[str]:
    """The keys of the thread ``event`` belongs in: its group's, for a group message (a
    group is never merged into a person's own thread), else its participant's."""
    if event.group is not None:
        return [keys.group_participant(event.group.id)]
    return participant_keys(event.channel, event.participant)
