"""The gateway: provider webhooks in (``webhooks``) and the read API out (``api``)."""
