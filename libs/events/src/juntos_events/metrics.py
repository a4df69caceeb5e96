"""Prometheus metrics of the backbone, exposed by every service's /metrics."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPENDED = Counter(
    "juntos_events_appended_total", "Events appended to the store", ["service", "event_type"]
)
OUTBOX_PUBLISHED = Counter(
    "juntos_outbox_published_total", "Outbox rows acknowledged by Kafka", ["topic"]
)
OUTBOX_BACKLOG = Gauge("juntos_outbox_backlog", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "juntos_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row"
)
OUTBOX_VACUUMS = Counter(
    "juntos_outbox_vacuums_total", "Vacuums of the outbox run by the relay (its deleted rows)"
)
RELAY_BATCH_SECONDS = Histogram(
    "juntos_relay_batch_seconds", "Time to publish and clear one outbox batch"
)
CONSUMED = Counter(
    "juntos_consumer_processed_total",
    "Events applied by a consumer",
    ["consumer", "topic", "outcome"],
)
DEAD_LETTERS = Counter(
    "juntos_consumer_dead_letters_total",
    "Events sent to a dead-letter topic",
    ["consumer", "topic"],
)
CONSUMER_LAG = Gauge(
    "juntos_consumer_lag",
    "Records behind the end of the partition",
    ["consumer", "topic", "partition"],
)
