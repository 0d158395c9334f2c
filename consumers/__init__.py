"""The Kafka edge: consumer-group workers that decode each record, hand it to the domain,
and commit its offset once the domain's writes are done."""
