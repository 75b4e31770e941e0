"""Retrieval on the committed evaluation set (written by the project: everyday Vietnamese, a
third without diacritics, none a copy of an entry's own questions) and on off-topic questions."""

from pathlib import Path

import numpy as np
import pytest

from songkhoe.chatbot.evaluation import answered_share, read_tsv, recall, search_all
from songkhoe.chatbot.knowledge import knowledge_base
from songkhoe.chatbot.retrieval import default_retriever, rrf
from songkhoe.chatbot.semantic import (
    DenseIndex,
    embed,
    entry_texts,
    read_vectors,
    text_key,
    write_vectors,
)
from songkhoe.chatbot.text import DiacriticRestorer, fold, syllables

DATA = Path(__file__).with_name("data")
EVAL = read_tsv(DATA / "eval_questions.tsv")
OFF_TOPIC = [row["question"] for row in read_tsv(DATA / "off_topic.tsv")]


PLAIN = [row for row in EVAL if fold(row["question"]) == row["question"].lower()]


@pytest.fixture(scope="module")
def retriever():
    return default_retriever()


@pytest.fixture(scope="module")
def hits(retriever):
    return search_all(retriever, [row["question"] for row in EVAL] + OFF_TOPIC)


def test_the_evaluation_set_is_as_the_issue_asks():
    ids = {entry.id for entry in knowledge_base()}
    assert len(EVAL) >= 150 and {row["entry"] for row in EVAL} == ids
    assert len(PLAIN) >= len(EVAL) / 3
    own = {fold(q) for entry in knowledge_base() for q in (entry.title, *entry.questions)}
    assert not own & {fold(row["question"]) for row in EVAL}


def test_recall_at_3_is_at_least_090_with_and_without_diacritics(hits):
    assert recall(hits, EVAL) >= 0.9
    assert recall(hits, PLAIN) >= 0.85


def test_it_says_it_does_not_know_off_topic_and_answers_in_scope(retriever, hits):
    in_scope = {row["question"]: hits[row["question"]] for row in EVAL}
    assert answered_share(retriever, in_scope) >= 0.95
    assert answered_share(retriever, {q: hits[q] for q in OFF_TOPIC}) <= 0.35


def test_the_committed_vectors_cover_the_knowledge_base_and_match_the_model():
    stored = read_vectors()
    texts = [t for entry in knowledge_base() for t in entry_texts(entry)]
    assert all(text_key(t) in stored for t in texts), "run `songkhoe chat index`"
    sample = texts[::97]
    fresh = embed(sample)
    cached = np.stack([stored[text_key(t)] for t in sample])
    assert np.allclose(fresh, cached, atol=2e-3)


def test_folding_removes_diacritics_and_d_bar():
    assert fold("Đau NGỰC, khó thở") == "dau nguc, kho tho"
    assert syllables("Bé 2 tháng; sốt!") == ["be", "2", "thang", "sot"]


def test_diacritics_come_back_from_the_corpus():
    restorer = DiacriticRestorer(["Tăng huyết áp và đái tháo đường", "tăng cân"])
    assert restorer.restore("tang huyet ap va xyz") == "tăng huyết áp và xyz"
    assert restorer.restore("Đã có dấu") == "Đã có dấu"


def test_reciprocal_rank_fusion():
    fused = rrf([np.array([3.0, 2.0, 1.0]), np.array([1.0, 3.0, 2.0])], k=60)
    assert fused.argmax() == 1  # ranks 2 and 1 beat ranks 1 and 3
    assert fused[0] == pytest.approx(1 / 61 + 1 / 63)


def test_the_index_is_rebuilt_and_an_edited_entry_is_embedded_at_load(tmp_path, caplog):
    first, second = knowledge_base()[:2]
    path = tmp_path / "vectors.json.gz"
    assert write_vectors([first], path) == len(set(entry_texts(first)))
    index = DenseIndex.build([first], path)
    assert not caplog.records
    index = DenseIndex.build([first, second], path)  # `second` is not in the file
    assert "not in vectors.json.gz" in caplog.text
    assert index.scores(second.questions[0]).argmax() == 1
