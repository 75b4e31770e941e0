"""The knowledge base: every entry well-formed, cited, reviewed; every topic of issue #9 covered."""

import unicodedata

import pytest

from songkhoe.chatbot.knowledge import KnowledgeError, knowledge_base, parse_entry

TOPICS = {  # the issue's list of primary-care topics, plus emergencies
    "tang-huyet-ap", "dai-thao-duong", "sot-xuat-huyet", "tay-chan-mieng", "tieu-chay",
    "sot-o-tre", "copd-hen", "lao", "tiem-chung", "dinh-duong", "kham-dinh-ky",
    "bao-hiem-y-te", "cap-cuu",
}  # fmt: skip
ENTRY = """---
id: x
title: Tiêu đề
topic: lao
source: WHO
reviewed: 2026-01-31
questions:
- Câu hỏi?
---
Nội dung.
"""


def test_every_entry_is_cited_reviewed_and_clean():
    entries = knowledge_base()
    assert 40 <= len(entries) <= 80
    assert len({e.id for e in entries}) == len(entries)
    for entry in entries:
        assert entry.source and entry.reviewed.year >= 2025, entry.id
        assert "Bộ Y tế" in entry.source or "WHO" in entry.source or "Luật" in entry.source, (
            entry.id
        )
        assert entry.url is None or entry.url.startswith("https://"), entry.id
        assert len(entry.questions) >= 3 and len(entry.body) > 200, entry.id
        for text in (entry.title, entry.body, *entry.questions):
            assert "\ufffd" not in text and unicodedata.is_normalized("NFC", text), entry.id


def test_every_topic_of_the_issue_has_entries():
    counts = {}
    for entry in knowledge_base():
        counts[entry.topic] = counts.get(entry.topic, 0) + 1
    assert TOPICS <= set(counts)
    assert all(counts[topic] >= 3 for topic in TOPICS - {"cham-soc-chung"})


def test_an_entry_parses():
    entry = parse_entry(ENTRY, "x.md")
    assert (entry.title, entry.questions, entry.body) == ("Tiêu đề", ("Câu hỏi?",), "Nội dung.")
    assert entry.citation()["reviewed"] == "2026-01-31"


@pytest.mark.parametrize(
    "broken, message",
    [
        (ENTRY.replace("source: WHO\n", ""), "x.md: field 'source' is missing"),
        (ENTRY.replace("2026-01-31", "31/01/2026"), "'reviewed' must be a date"),
        (ENTRY.replace("topic: lao", "chu de: lao"), "x.md:4: unknown field 'chu de'"),
        (ENTRY.replace("- Câu hỏi?\n", ""), "'questions' needs at least one"),
        (ENTRY.replace("Nội dung.\n", ""), "has no body"),
        (ENTRY[4:], "x.md:1: the file must start"),
    ],
)
def test_a_broken_entry_names_its_file_and_field(broken, message):
    with pytest.raises(KnowledgeError, match=message.replace("(", r"\(")):
        parse_entry(broken, "x.md")
