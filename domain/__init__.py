"""The rules that keep Threadline's data consistent, over its MongoDB store.

Both edges call in here: the HTTP edge (``ingest``) for the read API and the dashboard's
edits, the Kafka edge (``consumers``) for every event it reads. Neither edge holds a rule of
its own, and this package imports neither of them.
"""
