"""Retroactive linking: when a profile gains an identifier, or a booking its code, the earlier
unlinked threads and communications with it become the customer's, so links do not depend on
whether a message or the booking it names was handled first."""

from domain.store.database import Store
from matchers import keys
from matchers.identity import Identifiers, Rule


async def link_identifiers(
    store: Store, tenant_id: str, customer_id: str, identifiers: Identifiers
) -> int:
    """Link every unlinked thread with one of ``identifiers``; returns how many."""
    by_rule: list[tuple[Rule, list[str], str | None]] = [
        (Rule.EMAIL, [keys.email_participant(email) for email in identifiers.emails], None),
    ]
    if identifiers.phone:
        by_rule.append((Rule.PHONE, [keys.phone_participant(identifiers.phone)], None))
    for identity_channel, user in identifiers.channel_identities:
        by_rule.append(
            (
                Rule.CHANNEL_IDENTITY,
                [keys.id_participant(user), keys.user_participant(user)],
                identity_channel,
            )
        )
    linked = 0
    for rule, participant_keys, channel in by_rule:
        if not participant_keys:
            continue
        found = await store.threads.unlinked_with_keys(tenant_id, participant_keys, channel)
        for thread in found:
            if await store.threads.link(thread["_id"], customer_id, str(rule), []) != customer_id:
                continue  # another customer linked it first
            await store.messages.link_thread(thread["_id"], customer_id, str(rule))
            linked += 1
    if linked:
        latest = await store.messages.latest_for_customer(tenant_id, customer_id)
        if latest is not None:
            await store.customers.touch_contact(customer_id, latest)
    return linked


async def link_references(
    store: Store, tenant_id: str, customer_id: str, references: list[str]
) -> int:
    """Link every unlinked thread with a message naming one of ``references`` (a booking's
    confirmation code, the customer's external id); returns how many."""
    wanted = [reference for reference in references if reference]
    if not wanted:
        return 0
    linked = 0
    for thread_id in sorted(await store.messages.threads_referencing(tenant_id, wanted)):
        thread = await store.threads.get(tenant_id, thread_id)
        if thread is None or thread.get("customer_id"):
            continue
        if any(key.startswith("group:") for key in thread["participant_keys"]):
            continue  # a group's thread is nobody's
        rule = str(Rule.REFERENCE)
        if await store.threads.link(thread_id, customer_id, rule, []) != customer_id:
            continue
        await store.messages.link_thread(thread_id, customer_id, rule)
        linked += 1
    if linked:
        latest = await store.messages.latest_for_customer(tenant_id, customer_id)
        if latest is not None:
            await store.customers.touch_contact(customer_id, latest)
    return linked
