"""Consumers of Threadline's topics, and the MongoDB storage layer they and the API share."""
