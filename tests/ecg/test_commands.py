"""`songkhoe ecg classify | af-windows | evaluate` as a user runs them, and their one-line
errors."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from songkhoe.cli import main
from songkhoe.ecg import service
from songkhoe.ecg.commands import ecg


def run(*args: str):
    return CliRunner().invoke(ecg, list(args))


def _held_out_names(cinc, count: int) -> list[str]:
    return service.validation_report()["split"]["held_out_records"][:count]


def test_classify_writes_the_csv(cinc, tmp_path):
    names = _held_out_names(cinc, 3)
    out = tmp_path / "out.csv"
    paths = [str(cinc / "records" / names[0])] + [
        str(cinc / "records" / f"{n}.hea") for n in names[1:]
    ]
    result = run("classify", *paths, "--output", str(out))
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["record", "rhythm", "af_probability", "heart_rate_bpm"]
    assert [r["record"] for r in rows] == [f"{p}.hea" if not p.endswith(".hea") else p
                                           for p in paths]  # fmt: skip
    for row in rows:
        assert row["rhythm"] in ("N", "A", "O", "~")
        assert 0.0 <= float(row["af_probability"]) <= 1.0
        assert row["heart_rate_bpm"] == "" or 20 < float(row["heart_rate_bpm"]) < 300


def test_af_windows_writes_one_row_per_window(tmp_path):
    # 100 beats 0.8 s apart from 1 s: the last beat at 80.2 s; windows 1-31, 31-61, and
    # 61-80.2 (19.2 s, over half of 30 s): three windows, none AF.
    beats = tmp_path / "beats.csv"
    times = 1 + 0.8 * np.arange(100)
    beats.write_text("time_s\n" + "\n".join(f"{t:.3f}" for t in times), encoding="utf-8")
    out = tmp_path / "windows.csv"
    result = run("af-windows", "--beats", str(beats), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "start_s,end_s,af",
        "1.000,31.000,false",
        "31.000,61.000,false",
        "61.000,80.200,false",
    ]
    result = run("af-windows", "--beats", str(beats), "--output", str(out), "--window-s", "60")
    assert out.read_text().splitlines()[1:] == ["1.000,61.000,false"]  # 61-80.2 s < 30 s


def test_evaluate_prints_the_scores(cinc, tmp_path):
    # 39 held-out records and one the model learnt from, which the report counts.
    names = _held_out_names(cinc, 39) + service.validation_report()["split"]["train_records"][:1]
    reference = dict(line.split(",") for line in (cinc / "REFERENCE.csv").read_text().split())
    labels = tmp_path / "labels.csv"
    labels.write_text("".join(f"{n},{reference[n]}\n" for n in names), encoding="utf-8")
    result = run("evaluate", "--labels", str(labels), "--records", str(cinc / "records"),
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["records"] == 40 and report["records_used_in_training"] == 1
    assert sum(map(sum, report["confusion_rows_reference_columns_predicted"])) == 40
    f1 = report["f1"]
    assert report["challenge_score"]["value"] == pytest.approx(
        np.nanmean([f1["N"], f1["A"], f1["O"]]), abs=1e-3
    )
    text = run("evaluate", "--labels", str(labels), "--records", str(cinc / "records"))
    assert "Challenge score (mean F1 N, A, O)" in text.output and "95 % CI" in text.output
    assert "note: the model learnt from 1 of them" in text.output
    held = run("evaluate", "--labels", str(labels), "--records", str(cinc / "records"),
               "--held-out", "--json")  # fmt: skip
    assert json.loads(held.output)["records"] == 39


def test_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,I\n0,abc\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["ecg", "classify", str(bad), "--output", str(tmp_path / "o.csv")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("songkhoe: error: ") and "bad.csv: row 2, column I" in err
    assert not (tmp_path / "o.csv").exists()
    labels = tmp_path / "labels.csv"
    labels.write_text("A00001,X\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["ecg", "evaluate", "--labels", str(labels), "--records", str(tmp_path)])
    assert "labels.csv: row 1: expected `record,label`" in capsys.readouterr().err
