"""`songkhoe imaging models | analyze | evaluate` on phantom films, and the one-line errors."""

import csv
import json

import numpy as np
from click.testing import CliRunner

from songkhoe.cli import main
from songkhoe.imaging.commands import imaging


def run(*args: str):
    return CliRunner().invoke(imaging, list(args))


def write_films(folder, phantoms, make_png, make_dicom) -> list[str]:
    names = []
    for i, film in enumerate(phantoms.films):
        name = f"film{i:02d}.dcm" if i % 3 == 0 else f"film{i:02d}.png"
        data = make_dicom(film, photometric="MONOCHROME1") if i % 3 == 0 else make_png(film)
        (folder / name).write_bytes(data)
        names.append(name)
    return names


def test_missing_weights_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SONGKHOE_MODEL_DIR", str(tmp_path / "empty"))
    film = tmp_path / "x.png"
    film.write_bytes(b"\x89PNG\r\n\x1a\n")
    try:
        main(
            [
                "imaging",
                "analyze",
                str(film),
                "--model",
                "densenet121-res224-all",
                "--output",
                str(tmp_path / "out"),
            ]
        )
    except SystemExit as stop:
        assert stop.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("songkhoe: error: model densenet121-res224-all")
    assert "has no weights installed" in err and not (tmp_path / "out").exists()
    listing = run("models")
    assert "densenet121-res224-all       not installed" in listing.output


def test_analyze_writes_a_json_and_a_heatmap_per_film(
    tmp_path, imaging_env, phantom_model, phantoms, make_png, make_dicom
):
    names = write_films(tmp_path, phantoms, make_png, make_dicom)[:6]
    out = tmp_path / "out"
    result = run(
        "analyze",
        *(str(tmp_path / n) for n in names),
        "--model",
        "phantom-demo",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    for i, name in enumerate(names):
        record = json.loads((out / f"{name.rsplit('.', 1)[0]}.json").read_text())
        assert record["demo"] is True and set(record["scores"]) == {"Nodule"}
        assert record["positive"] == (record["suspicion"] >= 0.5)
        assert (out / record["heatmap"].rsplit("/", 1)[1]).read_bytes().startswith(b"\x89PNG")
        if phantoms.labels[i] and record["positive"]:
            region = record["region"]
            cy, cx = phantoms.centres[i]
            near = phantoms.radius[i]
            assert region["x"] - near <= cx <= region["x"] + region["width"] + near
            assert region["y"] - near <= cy <= region["y"] + region["height"] + near
    assert "installed" in run("models").output.splitlines()[1]


def test_evaluate_reports_auc_sensitivity_specificity_and_calibration(
    tmp_path, imaging_env, phantom_model, phantoms, make_png, make_dicom
):
    names = write_films(tmp_path, phantoms, make_png, make_dicom)
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "label"])
        writer.writerows(zip(names, phantoms.labels.tolist(), strict=True))
    args = [
        "evaluate",
        "--labels",
        str(labels),
        "--images",
        str(tmp_path),
        "--model",
        "phantom-demo",
    ]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["films"] == 60 and report["positives"] == int(phantoms.labels.sum())
    assert report["auc"] > 0.9, report
    low, high = report["auc_ci"]
    assert low <= report["auc"] <= high <= 1.0
    assert report["sensitivity"] > 0.8 and report["specificity"] > 0.8
    assert sum(row["films"] for row in report["calibration"]) == 60
    text = run(*args)
    assert "AUC" in text.output and "WHO TB screening target" in text.output
    bad = tmp_path / "bad.csv"
    bad.write_text("image,label\nfilm00.dcm,1\nfilm01.png,yes\n")
    refused = run(
        "evaluate", "--labels", str(bad), "--images", str(tmp_path), "--model", "phantom-demo"
    )
    assert refused.exit_code == 2 and "row 3: label must be 0 or 1" in refused.output
    assert np.isfinite(report["brier"]) and 0 <= report["ece"] <= 1


def test_a_model_name_cannot_leave_the_model_folder(tmp_path, monkeypatch, phantom_model):
    models = tmp_path / "models"
    monkeypatch.setenv("SONGKHOE_MODEL_DIR", str(models))
    onnx = phantom_model.onnx_path
    args = ["--onnx", str(onnx), "--sha256", phantom_model.onnx_sha256, "--labels", "Nodule"]
    args += ["--input-size", "64", "--title", "t", "--source", "s", "--licence", "l"]
    for name in ("../escaped", str(tmp_path / "absolute"), "Upper", ".hidden", "a" * 65):
        refused = run("register", name, *args)
        assert refused.exit_code == 2 and "name must be" in refused.output, (name, refused.output)
    leftovers = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert leftovers in ([], ["models"]), leftovers
    done = run("register", "hospital-cxr.v1_2", *args)
    assert done.exit_code == 0, done.output
    assert (models / "hospital-cxr.v1_2" / "model.onnx").is_file()
