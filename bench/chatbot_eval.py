"""Health chatbot outcomes (issue #9), on the committed sets in tests/chatbot/data:

retrieval  Recall@1 and Recall@3 of BM25 alone (the baseline: lexical search over folded
           text, what FTS5 would give), e5 alone, and the two fused by reciprocal rank;
refusal    share of in-scope questions answered and of off-topic questions refused at the
           calibrated threshold, and the sweep it was chosen from;
triage     sensitivity on the red-flag vignettes (goal 100%), false-alarm rate on negated
           and look-alike ones;
latency    a whole answer (triage + retrieval + quoted entry, no LLM) per question, p50 and
           p95, against the BM25-only answer measured in the same run (goal p95 <= 300 ms).

python bench/chatbot_eval.py [--repeat 2]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from songkhoe.chatbot import retrieval
from songkhoe.chatbot.evaluation import (
    answered_share,
    read_tsv,
    recall,
    search_all,
    triage_rates,
)
from songkhoe.chatbot.retrieval import default_retriever
from songkhoe.chatbot.service import ask, quote
from songkhoe.chatbot.text import fold
from songkhoe.chatbot.triage import triage

DATA = Path(__file__).resolve().parent.parent / "tests" / "chatbot" / "data"


def timed(function, questions: list[str], repeat: int) -> np.ndarray:
    """Milliseconds per call of function(question), every question `repeat` times."""
    times = []
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            function(question)
            times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def bm25_answer(retriever):
    def answer(question: str) -> str:
        triage(question)
        hits = retriever.search(question, mode="bm25")
        return quote(tuple(hits)) if hits else ""

    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = read_tsv(DATA / "eval_questions.tsv")
    off_topic = [row["question"] for row in read_tsv(DATA / "off_topic.tsv")]
    vignettes = read_tsv(DATA / "red_flags.tsv")
    plain = [row for row in rows if fold(row["question"]) == row["question"].lower()]
    questions = [row["question"] for row in rows]

    start = time.perf_counter()
    retriever = default_retriever()
    print(f"index: {len(retriever.entries)} entries, loaded in {time.perf_counter() - start:.2f} s")
    print(f"evaluation set: {len(rows)} questions, {len(plain)} without diacritics")

    print("\nretrieval        Recall@1  Recall@3  Recall@3 (no diacritics)")
    for mode in ("bm25", "dense", "hybrid"):
        hits = search_all(retriever, questions, mode=mode)
        top1 = {q: found[:1] for q, found in hits.items()}
        print(
            f"  {mode:14} {recall(top1, rows):8.3f}  {recall(hits, rows):8.3f}  "
            f"{recall(hits, plain):8.3f}"
        )

    hybrid = search_all(retriever, questions + off_topic)
    in_scope = {q: hybrid[q] for q in questions}
    outside = {q: hybrid[q] for q in off_topic}
    print(f"\nrefusal at MIN_COSINE = {retrieval.MIN_COSINE} (best e5 cosine of the top 3 hits)")
    print(f"  in-scope answered   {answered_share(retriever, in_scope):.3f}  ({len(in_scope)})")
    print(f"  off-topic refused   {1 - answered_share(retriever, outside):.3f}  ({len(outside)})")
    best = lambda found: max(hit.cosine for hit in found)  # noqa: E731
    inside_best = np.array([best(found) for found in in_scope.values()])
    outside_best = np.array([best(found) for found in outside.values()])
    print("  sweep: threshold  in-scope answered  off-topic refused")
    for threshold in (0.86, 0.87, 0.875, 0.88, 0.885, 0.89, 0.90):
        print(
            f"         {threshold:.3f}      {(inside_best >= threshold).mean():.3f}"
            f"              {(outside_best < threshold).mean():.3f}"
        )

    result = triage_rates(vignettes)
    emergencies = sum(row["expected"] == "emergency" for row in vignettes)
    print(f"\ntriage on {len(vignettes)} vignettes ({emergencies} emergencies)")
    print(f"  sensitivity (emergency)        {result.sensitivity:.3f}  missed: {result.missed}")
    print(f"  sensitivity (see a clinician)  {result.see_clinician_sensitivity:.3f}")
    print(f"  false-alarm rate               {result.false_alarm_rate:.3f}  {result.false_alarms}")

    ask(questions[0])  # warm the model
    full = timed(ask, questions, args.repeat)
    baseline = timed(bm25_answer(retriever), questions, args.repeat)
    print(f"\nlatency per answer, {len(full)} answers (ms)      p50     p95     max")
    for name, times in (("hybrid (triage + BM25 + e5)", full), ("baseline BM25 only", baseline)):
        p50, p95 = np.percentile(times, [50, 95])
        print(f"  {name:30} {p50:7.1f} {p95:7.1f} {times.max():7.1f}")
    ratio = np.percentile(full, 95) / np.percentile(baseline, 95)
    print(f"  p95 ratio hybrid / baseline: {ratio:.1f}x  (goal: hybrid p95 <= 300 ms)")


if __name__ == "__main__":
    main()
