"""The read API half of the gateway (``/v1``): threads, messages, customers and live events,
for the Chats page and the customer pages, over the domain's store."""
