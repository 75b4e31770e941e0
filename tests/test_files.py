"""The atomic file writer: PATH appears whole or not at all."""

import pytest

from songkhoe.files import atomic_text_file


def test_writes_the_file_and_removes_the_partial(tmp_path):
    path = tmp_path / "out.csv"
    with atomic_text_file(path) as handle:
        handle.write("a,b\n")
    assert path.read_text(encoding="utf-8") == "a,b\n"
    assert not (tmp_path / "out.csv.partial").exists()


def test_an_error_while_writing_leaves_neither_file(tmp_path):
    path = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_text_file(path) as handle:
        handle.write("a,b\n")
        raise RuntimeError("interrupted")
    assert not path.exists()
    assert not (tmp_path / "out.csv.partial").exists()


def test_an_error_keeps_an_existing_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_text_file(path) as handle:
        handle.write("new\n")
        raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert not (tmp_path / "out.csv.partial").exists()
