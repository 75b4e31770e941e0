"""Logging for the app and uvicorn, with personal data redacted from every record.

Redacted: e-mail addresses, health-insurance card numbers (2 letters + 13 digits), 12-digit CCCD
numbers, Vietnamese phone numbers (0[35789]xxxxxxxx, +84/84 [35789]xxxxxxxx, with or without
spaces, dots or dashes) and the query string of any URL or path (search parameters carry
identifiers and names). Names elsewhere in free text cannot be recognised: do not log them.

To serve with this config, call `configure_logging()` and pass `log_config=None` to `uvicorn.run`,
so that uvicorn keeps it instead of installing its own.
"""

import logging
import logging.config
import re

REDACTIONS = [
    (re.compile(r"((?:https?://|/)[^\s?\"']*)\?[^\s\"']*"), r"\1"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b[A-Za-z]{2}\d{13}\b"), "[bhyt]"),
    (re.compile(r"(?<![\w+])(?:\+?84[ .-]?|0)[35789](?:[ .-]?\d){8}(?!\d)"), "[phone]"),
    (re.compile(r"\b\d{12}\b"), "[cccd]"),
]
ACCESS_FORMAT = '%(asctime)s %(levelname)s %(client_addr)s - "%(request_line)s" %(status_code)s'
_EXCEPTION_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    """The text without query strings and with personal data replaced by [email], [bhyt],
    [phone] or [cccd]."""
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactPersonalData(logging.Filter):
    """Redacts the message, its arguments and any traceback of each record, in place.

    uvicorn's access records keep their five arguments (its formatter unpacks them), the path
    without its query string; other records are rendered and their arguments dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        else:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # arguments that do not fit: keep the template only
                message = str(record.msg)
            record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr at `level`: the app's records through the root logger, uvicorn's access
    log in its own format, every handler behind `RedactPersonalData`."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"personal_data": {"()": RedactPersonalData}},
            "formatters": {
                "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                "access": {
                    "()": "uvicorn.logging.AccessFormatter",
                    "fmt": ACCESS_FORMAT,
                    "use_colors": False,
                },
            },
            "handlers": {
                "default": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "filters": ["personal_data"],
                    "stream": "ext://sys.stderr",
                },
                "access": {
                    "class": "logging.StreamHandler",
                    "formatter": "access",
                    "filters": ["personal_data"],
                    "stream": "ext://sys.stderr",
                },
            },
            "loggers": {
                "uvicorn": {"level": level.upper()},
                "uvicorn.access": {"handlers": ["access"], "propagate": False},
            },
            "root": {"handlers": ["default"], "level": level.upper()},
        }
    )
