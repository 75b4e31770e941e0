"""Okapi BM25 over folded syllables and syllable pairs, so "dau nguc" and "đau ngực" are the same
terms and the pair "co giat" (co giật) does not match every "co" (có, cô, cổ, ...).

Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009), with the
Lucene form of the IDF, log(1 + (N - n + 0.5) / (n + 0.5)), which is never negative.
"""

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from songkhoe.chatbot.text import syllables

# Folded syllables that carry no topic on their own (pronouns, particles, question words); they
# still take part in pairs.
STOP = frozenset(
    "a ai anh bao bi cac cai can chi cho chu co con cua da dang de den di duoc gi hay hoi khi "
    "khong la lam len ma may minh mot nao ne nen neu nhieu nhu nhung nay nhe o ra roi sao se "
    "thi the thay toi tu va van vay vi voi vo".split()
)


def terms(text: str) -> list[str]:
    """The BM25 terms of `text`: folded syllables but the stop list, and every adjacent pair."""
    found = syllables(text)
    pairs = [f"{a}_{b}" for a, b in zip(found, found[1:], strict=False)]
    return [s for s in found if s not in STOP] + pairs


class BM25:
    """BM25 over a fixed list of documents (k1 = 1.2, b = 0.75)."""

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        counts = [Counter(terms(doc)) for doc in documents]
        lengths = np.array([sum(c.values()) for c in counts], dtype=float)
        norm = k1 * (1 - b + b * lengths / lengths.mean())
        df = Counter(term for c in counts for term in c)
        n = len(documents)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, frequency in df.items():
            idf = math.log(1 + (n - frequency + 0.5) / (frequency + 0.5))
            docs = np.array([i for i, c in enumerate(counts) if term in c])
            tf = np.array([counts[i][term] for i in docs], dtype=float)
            self.postings[term] = (docs, idf * tf * (k1 + 1) / (tf + norm[docs]))
        self.size = n

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every document for `query` (a repeated query term counts once)."""
        total = np.zeros(self.size)
        for term in set(terms(query)):
            if term in self.postings:
                docs, weights = self.postings[term]
                total[docs] += weights
        return total
