"""Hybrid retrieval: BM25 over folded text and e5 embeddings, fused by reciprocal rank
(Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual rank
learning methods", SIGIR 2009: score = Σ 1 / (k + rank), k = 60).

Whether anything fits at all is decided on the best e5 cosine, a calibrated absolute score (RRF
scores are ranks only): below `MIN_COSINE` the chatbot says it does not know. The threshold was
chosen with `bench/chatbot_eval.py` on the committed evaluation set and off-topic questions.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from songkhoe.chatbot.knowledge import Entry, knowledge_base
from songkhoe.chatbot.lexical import BM25
from songkhoe.chatbot.semantic import DenseIndex
from songkhoe.chatbot.text import DiacriticRestorer

RRF_K = 60
MIN_COSINE = 0.88


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    score: float  # the fused (or single-ranker) score that ordered the hits
    cosine: float  # the entry's best e5 cosine with the question (nan for BM25 only)


def rrf(rankings: Sequence[np.ndarray], k: int = RRF_K) -> np.ndarray:
    """Fused scores from score arrays over the same documents (higher is better)."""
    fused = np.zeros(len(rankings[0]))
    for scores in rankings:
        ranks = np.empty(len(scores))
        ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        fused += 1.0 / (k + ranks)
    return fused


class Retriever:
    """Ranks the knowledge base's entries for a question; `mode` picks the rankers."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = tuple(entries)
        self.lexical = BM25([lexical_document(e) for e in self.entries])
        self.dense = DenseIndex.build(self.entries)
        self.restorer = DiacriticRestorer([t for e in self.entries for t in entry_corpus(e)])

    def search(self, question: str, *, limit: int = 3, mode: str = "hybrid") -> list[Hit]:
        """The best `limit` entries, best first; mode "hybrid", "bm25" or "dense"."""
        if mode == "bm25":
            scores = self.lexical.scores(question)
            cosines = np.full(len(self.entries), np.nan)
            if not scores.any():
                return []
        else:
            cosines = self.dense.scores(self.restorer.restore(question))
            scores = cosines if mode == "dense" else rrf([self.lexical.scores(question), cosines])
        order = np.argsort(-scores, kind="stable")[:limit]
        return [Hit(self.entries[i], float(scores[i]), float(cosines[i])) for i in order]

    def answerable(self, hits: Sequence[Hit]) -> list[Hit]:
        """The hits that fit well enough to answer with (empty: "I don't know")."""
        return [hit for hit in hits if hit.cosine >= MIN_COSINE]


def entry_corpus(entry: Entry) -> tuple[str, ...]:
    return (entry.title, *entry.questions, entry.body)


def lexical_document(entry: Entry) -> str:
    """What BM25 indexes for an entry: title and questions weigh twice, then the body."""
    asked = " . ".join([entry.title, *entry.questions])
    return f"{asked} . {asked} . {entry.body}"


@cache
def default_retriever() -> Retriever:
    """The retriever over the shipped knowledge base (built once per process)."""
    return Retriever(knowledge_base())
