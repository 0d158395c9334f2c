"""The webhook half of the gateway: verify a provider's request, normalise it, publish it.

Requests are answered only once Kafka acknowledged their events (or the local spool holds
them on disk); nothing here reads or writes MongoDB on a webhook's path.
"""
