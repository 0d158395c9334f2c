"""Logging, configured once per process: JSON lines, or a console renderer in a terminal."""

import logging
import sys

import structlog

from contracts.settings import Settings

#: The structlog context key, and the Kafka header, that carry the correlation id.
CORRELATION_ID = "correlation_id"

_PROCESSORS: list[structlog.types.Processor] = []


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library's logging through one renderer."""
    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer()
        if settings.log_format == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # One list for the life of the process, changed in place: loggers cached on first use
    # keep a reference to it, so configuring again (and structlog.testing.capture_logs)
    # reaches them too.
    _PROCESSORS[:] = [*shared, structlog.processors.format_exc_info, renderer]
    structlog.configure(
        processors=_PROCESSORS,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The gateway logs each request itself, with its outcome; uvicorn's access line is noise.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("aiokafka").setLevel(max(level, logging.WARNING))
