"""`songkhoe telehealth queue` and `songkhoe telehealth escalate`: results and one-line errors."""

import pytest

from songkhoe.cli import main

from .test_access import open_xray_case


def run(argv: list[str], monkeypatch, database_url: str) -> int:
    monkeypatch.setenv("SONGKHOE_DATABASE_URL", database_url)
    with pytest.raises(SystemExit) as done:
        main(argv)
    return done.value.code


def test_queue_and_escalate(world, database_url, monkeypatch, capsys):
    argv = ["telehealth", "queue", "--facility", "bv-bach-mai", "--specialty", "cardiology",
            "--specialist", "bs.khac", "--backup", "bs.duphong"]  # fmt: skip
    assert run(argv, monkeypatch, database_url) == 0
    assert "q-bv-bach-mai-cardiology: 1 specialist(s), 1 backup(s)" in capsys.readouterr().out
    case = open_xray_case(world, urgency="emergency")
    assert run(["telehealth", "escalate", "--now", "2025-03-01T02:30:00"], monkeypatch,
               database_url) == 0  # fmt: skip
    assert "0 consultation(s) escalated" in capsys.readouterr().out
    assert run(["telehealth", "escalate", "--now", "2025-03-01T03:30:00"], monkeypatch,
               database_url) == 0  # fmt: skip
    assert "1 consultation(s) escalated" in capsys.readouterr().out
    assert world.store.read("Task", case.id)["owner"]["reference"].endswith(world.ids["bs.duphong"])


def test_a_bad_queue_is_one_line_and_exit_2(world, database_url, monkeypatch, capsys):
    argv = ["telehealth", "queue", "--facility", "bv-nowhere", "--specialty", "cardiology",
            "--specialist", "bs.khac"]  # fmt: skip
    assert run(argv, monkeypatch, database_url) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("songkhoe: error:") and "facility" in err[0]
