"""The external clients every process builds from its settings: Kafka producers, consumers and
admin clients, the MongoDB client, and the back-off between attempts at reaching them.

The only place their connection options are set, so a security setting added here reaches
the gateway, the workers and every command alike.
"""
