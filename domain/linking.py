"""Retroactive linking: when a profile gains an identifier, or a booking its code, the earlier
unlinked threads and communications with it become the customer's, so links do not depend on
whether a message or the booking it names was handled first. And linking by hand: staff's
link of a thread, which no rule undoes."""

from domain.documents import ThreadDocument
from domain.store.database import Store
from matchers import keys
from matchers.identity import Identifiers, Rule

#: ``matched_by`` of a link staff made by hand. It is not a matching rule: no rule outranks it.
MANUAL = "manual"

_WRITE_ATTEMPTS = 5


class LinkRefused(ValueError):
    """A thread that cannot be linked by hand as asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def link_identifiers(
    store: Store, tenant_id: str, customer_id: str, identifiers: Identifiers
) -> int:
    """Link every unlinked thread with one of ``identifiers``; returns how many."""
    return await link_identifiers_of(store, tenant_id, [(customer_id, identifiers)])


async def link_identifiers_of(
    store: Store, tenant_id: str, people: list[tuple[str, Identifiers]]
) -> int:
    """``link_identifiers`` for several people (customer, identifiers) in one read of the
    unlinked threads, and one write when some are found: a thread goes to the first person
    with one of its keys, by the first rule that finds it, as one by one it would. Returns
    how many were linked."""
    wanted: dict[str, list[tuple[int, str, str | None]]] = {}
    for position, (_, identifiers) in enumerate(people):
        for rule, participant_keys, channel in _keys_by_rule(identifiers):
            for key in participant_keys:
                wanted.setdefault(key, []).append((position, str(rule), channel))
    if not wanted:
        return 0
    links: dict[str, tuple[str | None, str, list[str]]] = {}
    for thread in await store.threads.unlinked_with_keys(tenant_id, sorted(wanted)):
        choices = [
            choice
            for key in thread["participant_keys"]
            for choice in wanted.get(key, [])
            if choice[2] in (None, thread["channel"])
        ]
        if choices:
            first = min(choices, key=lambda c: (c[0], _RULE_ORDER.index(c[1])))
            links[thread["_id"]] = (people[first[0]][0], first[1], [])
    if not links:
        return 0
    owners = await store.threads.link_many(links)
    linked = {
        thread: (str(customer), rule)
        for thread, (customer, rule, _) in links.items()
        if owners.get(thread) == customer  # else another customer linked it first
    }
    await store.messages.link_threads(linked)
    for customer_id in sorted({customer for customer, _ in linked.values()}):
        latest = await store.messages.latest_for_customer(tenant_id, customer_id)
        if latest is not None:
            await store.customers.touch_contact(customer_id, latest)
    return len(linked)


def _keys_by_rule(identifiers: Identifiers) -> list[tuple[Rule, list[str], str | None]]:
    """Each rule's participant keys for ``identifiers`` (and the channel they hold for)."""
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
    return by_rule


#: The order ``link_identifiers`` tries the rules in.
_RULE_ORDER = [str(Rule.EMAIL), str(Rule.PHONE), str(Rule.CHANNEL_IDENTITY)]


async def link_references(
    store: Store, tenant_id: str, customer_id: str, references: list[str]
) -> int:
    """Link every thread with a message naming one of ``references`` (a booking's
    confirmation code, the customer's external id): unlinked ones, and ones whose first message
    names it but which an email or phone linked meanwhile, since a reference outranks both.
    Returns how many changed."""
    wanted = [reference for reference in references if reference]
    if not wanted:
        return 0
    rule = str(Rule.REFERENCE)
    changed = 0
    left: set[str] = set()
    for thread_id in sorted(await store.messages.threads_referencing(tenant_id, wanted)):
        thread = await store.threads.get(tenant_id, thread_id)
        if thread is None or thread.get("merged_into"):
            continue
        if any(key.startswith("group:") for key in thread["participant_keys"]):
            continue  # a group's thread is nobody's
        owner, matched_by = thread.get("customer_id"), thread.get("matched_by")
        if owner is None:
            if await store.threads.link(thread_id, customer_id, rule, []) != customer_id:
                continue
            await store.messages.link_thread(thread_id, customer_id, rule)
        elif matched_by in _WEAKER_THAN_REFERENCE and await _opened_with(store, thread_id, wanted):
            # Had the booking come first, the thread's first message would have been matched
            # by this reference, which outranks the email or phone that linked it.
            if not await store.threads.relink(thread_id, owner, customer_id, rule):
                continue
            await store.messages.relink_thread(thread_id, owner, customer_id, rule)
            if owner != customer_id:
                left.add(owner)
        else:
            continue
        changed += 1
    if changed:
        latest = await store.messages.latest_for_customer(tenant_id, customer_id)
        if latest is not None:
            await store.customers.touch_contact(customer_id, latest)
    for previous in sorted(left):
        await store.customers.set_contact(
            previous, await store.messages.latest_for_customer(tenant_id, previous)
        )
    return changed


async def link_by_hand(
    store: Store, tenant_id: str, thread: ThreadDocument, customer_id: str
) -> None:
    """Link ``thread`` to ``customer_id`` (a live customer) as staff asked: the thread and its
    messages become the customer's with ``matched_by: manual``, candidates cleared; the
    customers they were of before get their last contact recomputed. Nothing changes when the
    thread is the customer's already.

    LinkRefused for a group's thread (nobody's), or one whose link kept changing under a
    worker's linking. Later messages of the thread are the customer's (the thread's customer
    decides), and no reference relinks it.
    """
    if any(key.startswith("group:") for key in thread["participant_keys"]):
        raise LinkRefused("a group's thread is nobody's; it cannot be linked to a customer")
    for _ in range(_WRITE_ATTEMPTS):
        owner = thread.get("customer_id")
        if owner == customer_id:
            return
        if await store.threads.relink(thread["_id"], owner, customer_id, MANUAL):
            break
        found = await store.threads.get(tenant_id, thread["_id"])
        if found is None or found.get("merged_into"):
            raise LinkRefused("the thread was merged into another meanwhile; link that one")
        thread = found
    else:
        raise LinkRefused(f"thread {thread['_id']} kept changing; try again")
    previous = await store.messages.give_thread(thread["_id"], customer_id, MANUAL)
    latest = await store.messages.latest_for_customer(tenant_id, customer_id)
    if latest is not None:
        await store.customers.touch_contact(customer_id, latest)
    if owner is not None:
        previous.add(owner)
    for before in sorted(previous):
        await store.customers.set_contact(
            before, await store.messages.latest_for_customer(tenant_id, before)
        )


#: Rules a reference outranks when it finds another customer for a thread (docs/identity.md);
#: never ``MANUAL``.
_WEAKER_THAN_REFERENCE = frozenset({str(Rule.EMAIL), str(Rule.PHONE), str(Rule.PREVIOUS_PHONE)})


async def _opened_with(store: Store, thread_id: str, references: list[str]) -> bool:
    first = await store.messages.first_of_thread(thread_id)
    return first is not None and any(ref in first.get("references", []) for ref in references)
