"""Files of films and heatmaps, content-addressed: a file's name is the SHA-256 of its bytes
(`ab/cd/abcd…`), so a file is written once, never changed, and checked by its name."""

import hashlib
import os
import tempfile
from pathlib import Path

SHA256_HEX = frozenset("0123456789abcdef")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MediaFiles:
    """The content-addressed files under one directory (SONGKHOE_MEDIA_DIR)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or not set(digest) <= SHA256_HEX:
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store the bytes (atomically, once) and return their SHA-256."""
        digest = sha256_hex(data)
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`, checked against it (FileNotFoundError if absent,
        ValueError if the file was altered)."""
        data = self.path(digest).read_bytes()
        if sha256_hex(data) != digest:
            raise ValueError(f"media file {digest[:12]}… does not match its SHA-256")
        return data
