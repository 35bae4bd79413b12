"""The access log, without the credentials some paths carry: the token of an
acknowledgement, flag or calendar link is a password for what it opens (aiohttp logs the
request line as it came)."""

from __future__ import annotations

import logging

from guardian.acks.links import redact_links

ACCESS_LOGGER = "guardian.access"


class RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_links(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def access_logger() -> logging.Logger:
    """The logger `guardian serve` gives aiohttp for its access log, redacting."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
    return logger
