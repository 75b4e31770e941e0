"""The knowledge base: one Markdown file per entry under `knowledge/`, with a front matter of
`key: value` lines (id, title, topic, source, url (optional), reviewed, questions as `- ` items)
between `---` lines, and a body in plain Vietnamese."""

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

KNOWLEDGE_DIR = Path(__file__).with_name("knowledge")
REQUIRED = ("id", "title", "topic", "source", "reviewed")
OPTIONAL = ("url",)


class KnowledgeError(ValueError):
    """An entry file that does not follow the format; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    topic: str
    source: str
    url: str | None
    reviewed: date
    questions: tuple[str, ...]
    body: str

    def citation(self) -> dict:
        """The entry as a cited source: what `sources` of an answer lists."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "reviewed": self.reviewed.isoformat(),
        }


def parse_entry(text: str, name: str) -> Entry:
    """One entry from its file text; `name` (the file) only serves the error messages."""
    text = unicodedata.normalize("NFC", text)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KnowledgeError(f"{name}:1: the file must start with a '---' line")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise KnowledgeError(f"{name}: the front matter has no closing '---' line") from None
    fields: dict[str, str] = {}
    questions: list[str] = []
    key = None
    for number, line in enumerate(lines[1:end], start=2):
        if line.startswith("- ") and key == "questions":
            questions.append(line[2:].strip())
        elif ":" in line and not line.startswith(" "):
            key, value = (part.strip() for part in line.split(":", 1))
            if key not in (*REQUIRED, *OPTIONAL, "questions"):
                raise KnowledgeError(f"{name}:{number}: unknown field {key!r}")
            if key != "questions":
                fields[key] = value
        else:
            raise KnowledgeError(f"{name}:{number}: expected 'key: value' or '- question'")
    for key in REQUIRED:
        if not fields.get(key):
            raise KnowledgeError(f"{name}: field {key!r} is missing")
    if not questions:
        raise KnowledgeError(f"{name}: 'questions' needs at least one '- ' item")
    try:
        reviewed = date.fromisoformat(fields["reviewed"])
    except ValueError:
        raise KnowledgeError(f"{name}: 'reviewed' must be a date (YYYY-MM-DD)") from None
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise KnowledgeError(f"{name}: the entry has no body")
    return Entry(
        id=fields["id"],
        title=fields["title"],
        topic=fields["topic"],
        source=fields["source"],
        url=fields.get("url") or None,
        reviewed=reviewed,
        questions=tuple(questions),
        body=body,
    )


def load_entries(folder: Path = KNOWLEDGE_DIR) -> tuple[Entry, ...]:
    """Every entry of `folder`, sorted by id; ids are unique and match the file names."""
    entries = []
    for path in sorted(folder.glob("*.md")):
        entry = parse_entry(path.read_text(encoding="utf-8"), path.name)
        if entry.id != path.stem:
            raise KnowledgeError(f"{path.name}: id {entry.id!r} differs from the file name")
        entries.append(entry)
    if not entries:
        raise KnowledgeError(f"{folder}: no entries")
    return tuple(entries)


@cache
def knowledge_base() -> tuple[Entry, ...]:
    """The entries shipped with the package (read once)."""
    return load_entries()
