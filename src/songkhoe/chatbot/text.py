"""Vietnamese text as the retrievers and the triage rules see it: lower case, without diacritics
(đ → d), split into syllables. Users type with and without diacritics, so both sides are folded."""

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without diacritics: "Đau NGỰC" → "dau nguc"."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[tuple[str, str]]:
    """(as written in lower case, folded) for each syllable or number of `text`, in order."""
    return [(raw, fold(raw)) for raw in WORD.findall(text.lower())]


def syllables(text: str) -> list[str]:
    """The folded syllables (and numbers) of `text`, in order."""
    return [folded for _, folded in words(text)]


class DiacriticRestorer:
    """Puts diacritics back on text typed without them, from the n-grams of a reference corpus
    (the knowledge base): at each position the longest folded n-gram (up to `max_n` syllables)
    seen in the corpus is replaced by its most frequent written form; unknown syllables stay as
    typed. The dense model reads Vietnamese with diacritics far better than without."""

    def __init__(self, corpus: list[str], max_n: int = 3) -> None:
        counts: dict[tuple[str, ...], dict[tuple[str, ...], int]] = {}
        for text in corpus:
            pairs = words(text)
            for n in range(1, max_n + 1):
                for i in range(len(pairs) - n + 1):
                    window = pairs[i : i + n]
                    key = tuple(f for _, f in window)
                    forms = counts.setdefault(key, {})
                    raw = tuple(r for r, _ in window)
                    forms[raw] = forms.get(raw, 0) + 1
        self.best = {key: max(forms, key=forms.__getitem__) for key, forms in counts.items()}
        self.max_n = max_n

    def restore(self, text: str) -> str:
        """`text` with diacritics restored where the corpus knows the words; text that already
        has diacritics comes back unchanged."""
        if fold(text) != text.lower():
            return text
        folded = syllables(text)
        out: list[str] = []
        i = 0
        while i < len(folded):
            for n in range(min(self.max_n, len(folded) - i), 0, -1):
                form = self.best.get(tuple(folded[i : i + n]))
                if form:
                    out.extend(form)
                    i += n
                    break
            else:
                out.append(folded[i])
                i += 1
        return " ".join(out)
