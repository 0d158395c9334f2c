"""The webhook gateway: verifies, normalises and publishes provider webhooks to Kafka."""
