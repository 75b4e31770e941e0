"""Files of films and heatmaps, content-addressed: a file's name is the SHA-256 of its bytes
(`ab/cd/abcd…`), so a file is written once, never changed, and checked by its name.

Beside them, what the imaging pipeline stored for each study (`studies/{study}/{role}`: the
SHA-256 and content type of its original file, shown film and heatmap): the record the app
serves files by, which nothing written through the FHIR API can change."""

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHA256_HEX = frozenset("0123456789abcdef")
STUDY = re.compile(r"cxr-[0-9a-f]{32}")
ROLES = frozenset({"original", "film", "heatmap"})
CONTENT_TYPES = frozenset({"application/dicom", "image/png", "image/jpeg"})


@dataclass(frozen=True, slots=True)
class Recorded:
    digest: str
    content_type: str


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
            _write(target, data)
        return digest

    def _record_path(self, study_id: str, role: str) -> Path:
        if not STUDY.fullmatch(study_id) or role not in ROLES:
            raise ValueError(f"not a study file: {study_id!r} {role!r}")
        return self.root / "studies" / study_id / role

    def record(self, study_id: str, role: str, digest: str, content_type: str) -> None:
        """Note that the pipeline stored file `digest` as the study's `role`."""
        self.path(digest)
        if content_type not in CONTENT_TYPES:
            raise ValueError(f"not a film's content type: {content_type!r}")
        _write(self._record_path(study_id, role), f"{digest} {content_type}".encode())

    def recorded(self, study_id: str, role: str) -> Recorded | None:
        """The file the pipeline stored as the study's `role`, None if it stored none."""
        try:
            digest, content_type = self._record_path(study_id, role).read_text().split()
        except (FileNotFoundError, ValueError):
            return None
        return Recorded(digest, content_type)

    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`, checked against it (FileNotFoundError if absent,
        ValueError if the file was altered)."""
        data = self.path(digest).read_bytes()
        if sha256_hex(data) != digest:
            raise ValueError(f"media file {digest[:12]}… does not match its SHA-256")
        return data


def _write(target: Path, data: bytes) -> None:
    """Write a file atomically (a reader sees the old file or the whole new one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
