"""Process settings, read from ``THREADLINE_*`` environment variables."""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


def _plain_seconds(value: Any) -> Any:
    """``"2.5"`` from the environment means 2.5 seconds; ISO 8601 (``PT2.5S``) works too."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


#: A duration written in seconds (``5``, ``0.5``) or ISO 8601.
Seconds = Annotated[timedelta, BeforeValidator(_plain_seconds)]


class Settings(BaseSettings):
    """Every knob of the gateway and the consumers. Defaults suit a laptop."""

    # An empty variable counts as unset (compose passes ${VAR:-} through as "").
    model_config = SettingsConfigDict(
        env_prefix="THREADLINE_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = "threadline"
    tenants_file: Path = Path("./tenants.toml")
    # The external base URL providers call (scheme, host, optional port, optional path
    # prefix); Twilio signs the URL it called, which differs from ours behind a proxy.
    public_base_url: str = "http://127.0.0.1:8000"
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Worker processes for `python -m ingest`; each holds its own Kafka producer.
    http_workers: Annotated[int, Field(ge=1, le=64)] = 1
    # (v1.1) Where each consumer process serves its Prometheus /metrics (port 0: nowhere).
    consumer_metrics_host: str = "127.0.0.1"
    consumer_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9400
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    topic_messages: str = "chat.messages.v1"
    topic_statuses: str = "chat.statuses.v1"
    topic_bookings: str = "bookings.events.v1"
    topic_ingest_deadletter: str = "ingest.deadletter.v1"
    topic_consumers_deadletter: str = "consumers.deadletter.v1"
    # (v1.1) The bytes of emails' attachments, in chunks (contracts/media.py).
    topic_media: str = "chat.media.v1"
    #: (v1.1) Replies to send, one record per attempt.
    topic_outbound: str = "chat.outbound.v1"
    # Partitions given to topics created by `python -m ingest create-topics`.
    topic_partitions: Annotated[int, Field(ge=1, le=1024)] = 6
    topic_replication_factor: Annotated[int, Field(ge=1, le=9)] = 1

    # How long a webhook waits for Kafka to acknowledge its events before answering 503.
    # Providers time out at 10-20 s; stay well below.
    publish_timeout: Seconds = timedelta(seconds=5)
    # Where a webhook's records wait on local disk when Kafka does not take them within
    # PUBLISH_TIMEOUT; one slot per gateway process. Put it on a persistent volume.
    spool_dir: Path = Path("./.data/spool")
    # Size limit of one process's spool (record keys and values); past it webhooks get 503.
    # 0 turns the spool off: a webhook Kafka does not take is answered 503.
    spool_max_bytes: Annotated[int, Field(ge=0)] = 1024 * MiB
    # Idempotent producers need broker support; the embedded broker has none.
    kafka_idempotence: bool = False
    # Small batching window: a few ms of linger lets concurrent webhooks share a request.
    kafka_linger_ms: Annotated[int, Field(ge=0, le=1000)] = 2
    # Largest record the producer sends; a dead-lettered 30 MiB email is ~40 MiB in base64.
    # The broker's and topic's message.max.bytes must allow it (create-topics sets it).
    kafka_max_request_bytes: Annotated[int, Field(ge=MiB)] = 48 * MiB
    # (v1.1) How every Kafka client (gateway, workers, commands) connects: TLS with
    # SSL/SASL_SSL, a SASL login with SASL_PLAINTEXT/SASL_SSL.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # The CA that signed the brokers' certificates (the system's CAs when unset), and a client
    # certificate and key for brokers that ask for one.
    kafka_ssl_ca_file: Path | None = None
    kafka_ssl_cert_file: Path | None = None
    kafka_ssl_key_file: Path | None = None

    # Bounds of the gateway's HTTP server (python -m ingest): a request line and headers
    # larger, or with more header fields, answer 431; headers not received this long after
    # the connection opened (or the previous answer), or a body that pauses this long, 408.
    http_max_header_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    http_max_headers: Annotated[int, Field(ge=8)] = 100
    http_header_timeout: Seconds = timedelta(seconds=10)
    http_body_timeout: Seconds = timedelta(seconds=10)
    # A webhook yielding more events than this is dead-lettered whole instead (its events
    # would hold up every conversation sharing their partitions); a replay publishes them.
    max_events_per_request: Annotated[int, Field(ge=1)] = 1000
    max_body_bytes: Annotated[int, Field(ge=1024)] = MiB
    max_email_body_bytes: Annotated[int, Field(ge=1024)] = 30 * MiB
    # Mailgun requests older than this, or whose token was already used, are refused.
    mailgun_max_age: Seconds = timedelta(minutes=5)
    # The longest the read API (/v1 threads and customers) waits on MongoDB for one request;
    # past it the answer is 503 with Retry-After. A frozen database otherwise holds a request
    # until the client gives up.
    api_database_timeout: Seconds = timedelta(seconds=10)
    # How long /ready waits for each dependency.
    ready_timeout: Seconds = timedelta(seconds=2)
    # The key thread-list cursors are signed with; every replica needs the same one. Unset,
    # it is derived from the tenants file's [meta], [mailgun] and [email] secrets.
    cursor_secret: SecretStr | None = None
    # How long a thread listing may be continued with its cursor (later: 400, start again).
    cursor_max_age: Seconds = timedelta(hours=1)
    # Live streams (/v1/events) of one tenant on one gateway process; more answer 429.
    sse_streams_per_tenant: Annotated[int, Field(ge=1)] = 500
    # Events one live stream may have waiting; a client further behind is told to resync.
    sse_queue_size: Annotated[int, Field(ge=1)] = 1000
    # A comment line on /v1/events this often keeps proxies from closing an idle stream.
    sse_heartbeat: Seconds = timedelta(seconds=15)

    # (v1.1) Media. A file larger than this is not fetched (the attachment is unavailable).
    media_max_bytes: Annotated[int, Field(ge=1)] = 100 * MiB
    #: (v1.1) The largest file ``POST /v1/uploads`` takes for sending.
    upload_max_bytes: Annotated[int, Field(ge=1024)] = 25 * MiB
    # Fetches of one attachment before it is unavailable, the first retry this long after
    # the first failure and each next one twice as long (5 and 30 s: about eight minutes).
    media_fetch_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    media_retry_after: Seconds = timedelta(seconds=30)
    # One provider request's limit (connect, and each read of the body).
    media_fetch_timeout: Seconds = timedelta(seconds=30)
    # Downloads one media worker process runs at once.
    media_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    # A fetch holds its attachment this long, renewed while it runs; a worker that dies
    # mid-download leaves it to another worker once the hold ends.
    media_fetch_lease: Seconds = timedelta(seconds=60)
    # Provider API base URLs (tests point them at local servers); the Graph API version.
    #: (v1.1) How long a reply's request to its provider may take before its outcome is
    #: ``unknown`` (the request may have arrived).
    send_timeout: Seconds = timedelta(seconds=15)
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v23.0"
    twilio_api_url: str = "https://api.twilio.com"
    #: (v1.1) Instagram replies with Instagram Login go to this host's Graph API.
    instagram_api_url: str = "https://graph.instagram.com"

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> "Settings":
        """Settings that cannot work together are refused at start, naming the setting."""
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"THREADLINE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "THREADLINE_KAFKA_SASL_USERNAME and THREADLINE_KAFKA_SASL_PASSWORD"
            )
        tls = self.kafka_security_protocol in ("SSL", "SASL_SSL")
        files = {
            "THREADLINE_KAFKA_SSL_CA_FILE": self.kafka_ssl_ca_file,
            "THREADLINE_KAFKA_SSL_CERT_FILE": self.kafka_ssl_cert_file,
            "THREADLINE_KAFKA_SSL_KEY_FILE": self.kafka_ssl_key_file,
        }
        for name, path in files.items():
            if path is None:
                continue
            if not tls:
                raise ValueError(f"{name} is set but THREADLINE_KAFKA_SECURITY_PROTOCOL has no TLS")
            if not path.is_file():
                raise ValueError(f"{name}: no such file: {path}")
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise ValueError(
                "THREADLINE_KAFKA_SSL_CERT_FILE and THREADLINE_KAFKA_SSL_KEY_FILE go together"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once on first use."""
    return Settings()
