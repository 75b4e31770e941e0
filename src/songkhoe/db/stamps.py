"""The fixed-width UTC timestamps of every TIMESTAMP column (songkhoe.db.schema): written
'YYYY-MM-DDTHH:MM:SS.ffffffZ', so that string order is time order on every backend."""

from datetime import UTC, datetime

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> str:
    """Now as a fixed-width UTC timestamp (STAMP_FORMAT)."""
    return datetime.now(UTC).strftime(STAMP_FORMAT)
