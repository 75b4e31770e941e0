"""Measures of the chatbot on labelled questions (the sets in tests/chatbot/data, used by the
tests and by bench/chatbot_eval.py): Recall@k of retrieval, the share of questions answered
or refused, and triage sensitivity and false-alarm rate."""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from songkhoe.chatbot.retrieval import Hit, Retriever
from songkhoe.chatbot.triage import EMERGENCY, LEVELS, triage


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def search_all(
    retriever: Retriever, questions: Iterable[str], *, k: int = 3, mode: str = "hybrid"
) -> dict[str, list[Hit]]:
    """The first k hits of every question."""
    return {q: retriever.search(q, limit=k, mode=mode) for q in questions}


def recall(hits: dict[str, list[Hit]], rows: Sequence[dict]) -> float:
    """Share of rows whose `entry` is among the hits of their `question` (Recall@k)."""
    found = sum(row["entry"] in {h.entry.id for h in hits[row["question"]]} for row in rows)
    return found / len(rows)


def answered_share(retriever: Retriever, hits: dict[str, list[Hit]]) -> float:
    """Share of the questions the chatbot answers (does not say "I don't know")."""
    return sum(bool(retriever.answerable(found)) for found in hits.values()) / len(hits)


@dataclass(frozen=True, slots=True)
class TriageResult:
    sensitivity: float  # emergencies triaged as emergency
    false_alarm_rate: float  # non-emergencies triaged as emergency
    see_clinician_sensitivity: float  # see_clinician cases triaged at that level or above
    missed: list[str]  # emergencies not triaged as emergency
    false_alarms: list[str]


def triage_rates(rows: Sequence[dict]) -> TriageResult:
    """Triage every `question` and compare with its `expected` level."""
    emergencies = [r["question"] for r in rows if r["expected"] == EMERGENCY]
    others = [r["question"] for r in rows if r["expected"] != EMERGENCY]
    visits = [r["question"] for r in rows if r["expected"] == "see_clinician"]
    missed = [q for q in emergencies if triage(q).level != EMERGENCY]
    alarms = [q for q in others if triage(q).level == EMERGENCY]
    visits_caught = [q for q in visits if LEVELS.index(triage(q).level) >= 1]
    return TriageResult(
        sensitivity=1 - len(missed) / len(emergencies),
        false_alarm_rate=len(alarms) / len(others),
        see_clinician_sensitivity=len(visits_caught) / len(visits),
        missed=missed,
        false_alarms=alarms,
    )
