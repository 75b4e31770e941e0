"""The model registry: each model is described by a manifest (name, labels, input size,
normalisation, output scaling, source, licence, SHA-256 of the published weights) and, once
installed, by a directory `SONGKHOE_MODEL_DIR/<name>/` holding `model.onnx` and `installed.json`
(the manifest plus the SHA-256 of the ONNX file, checked at every load).

Built-in manifests ship in `imaging/manifests/`; a hospital registers its own ONNX model
(`songkhoe imaging register`), whose manifest then lives only in its directory.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

ARCHITECTURES = ("densenet121", "phantom-cnn", "onnx")
POSTPROCESS = ("sigmoid", "sigmoid-op-norm", "none")
NORMALISATIONS = ("xrv",)
AUTO = "auto"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # a folder name under SONGKHOE_MODEL_DIR


class ModelError(Exception):
    """A model that cannot be listed, installed or loaded; the message says what to do."""


class UnknownModel(ModelError):
    pass


class ModelNotInstalled(ModelError):
    pass


class ChecksumMismatch(ModelError):
    pass


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    title: str
    architecture: str
    labels: tuple[str, ...]
    input_size: int
    normalisation: str
    postprocess: str
    suspicion_labels: tuple[str, ...]
    operating_point: float
    licence: str
    source: dict[str, Any] = field(default_factory=dict)
    op_threshs: tuple[float, ...] | None = None
    sha256: str | None = None  # of the published weights file, when its publisher gives one
    demo: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Manifest":
        try:
            made = cls(
                name=str(data["name"]),
                title=str(data["title"]),
                architecture=str(data["architecture"]),
                labels=tuple(str(x) for x in data["labels"]),
                input_size=int(data["input_size"]),
                normalisation=str(data["normalisation"]),
                postprocess=str(data["postprocess"]),
                suspicion_labels=tuple(str(x) for x in data["suspicion_labels"]),
                operating_point=float(data["operating_point"]),
                licence=str(data["licence"]),
                source=dict(data.get("source") or {}),
                op_threshs=tuple(float(x) for x in data["op_threshs"])
                if data.get("op_threshs") is not None
                else None,
                sha256=data.get("sha256"),
                demo=bool(data.get("demo", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"model manifest {data.get('name', '?')}: bad or missing {exc}"
            ) from None
        made.check()
        return made

    def check(self) -> None:
        problems = []
        if not NAME.fullmatch(self.name):
            problems.append(
                "name must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
            )
        if self.architecture not in ARCHITECTURES:
            problems.append(f"architecture must be one of {', '.join(ARCHITECTURES)}")
        if self.postprocess not in POSTPROCESS:
            problems.append(f"postprocess must be one of {', '.join(POSTPROCESS)}")
        if self.normalisation not in NORMALISATIONS:
            problems.append("normalisation must be xrv")
        if not self.labels or len(set(self.labels)) != len(self.labels):
            problems.append("labels must be given, each once")
        if not set(self.suspicion_labels) <= set(self.labels) or not self.suspicion_labels:
            problems.append("suspicion_labels must be some of the labels")
        if self.op_threshs is not None and len(self.op_threshs) != len(self.labels):
            problems.append("op_threshs needs one threshold per label")
        if self.postprocess == "sigmoid-op-norm" and self.op_threshs is None:
            problems.append("postprocess sigmoid-op-norm needs op_threshs")
        if not 0.0 < self.operating_point < 1.0:
            problems.append("operating_point must be between 0 and 1")
        if not 16 <= self.input_size <= 2048:
            problems.append("input_size must be 16..2048")
        if self.sha256 is not None and not _is_sha256(self.sha256):
            problems.append("sha256 must be 64 hex digits")
        if problems:
            raise ModelError(f"model manifest {self.name!r}: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    manifest: Manifest
    onnx_path: Path
    onnx_sha256: str
    source_sha256: str | None
    installed_at: str


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str) -> str:
    """The file's SHA-256, or ChecksumMismatch if it is not `expected`."""
    expected = expected.strip().lower()
    if not _is_sha256(expected):
        raise ModelError(f"--sha256 must be 64 hexadecimal digits, got {expected!r}")
    actual = file_sha256(path)
    if actual != expected:
        raise ChecksumMismatch(
            f"{path.name}: SHA-256 is {actual}, expected {expected}; the file was not installed"
        )
    return actual


def builtin_manifests() -> list[Manifest]:
    folder = resources.files("songkhoe.imaging") / "manifests"
    found = [
        Manifest.from_dict(json.loads(entry.read_text(encoding="utf-8")))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    return sorted(found, key=lambda m: (m.demo, m.name))


def _installed_record(model_dir: Path, name: str) -> dict[str, Any] | None:
    path = model_dir / name / "installed.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def catalog(model_dir: Path) -> list[Manifest]:
    """Every known model: the built-in ones, then those a hospital registered."""
    known = builtin_manifests()
    names = {m.name for m in known}
    if model_dir.is_dir():
        for folder in sorted(model_dir.iterdir()):
            record = _installed_record(model_dir, folder.name)
            if record is not None and folder.name not in names:
                known.append(Manifest.from_dict(record["manifest"]))
    return known


def manifest_of(name: str, model_dir: Path) -> Manifest:
    for manifest in catalog(model_dir):
        if manifest.name == name:
            return manifest
    names = ", ".join(m.name for m in catalog(model_dir))
    raise UnknownModel(f"unknown model {name!r} (known: {names})")


def installed(name: str, model_dir: Path) -> InstalledModel:
    """An installed model, its ONNX file checked against the SHA-256 recorded at install."""
    manifest = manifest_of(name, model_dir)
    record = _installed_record(model_dir, name)
    onnx_path = model_dir / name / "model.onnx"
    if record is None or not onnx_path.is_file():
        raise ModelNotInstalled(
            f"model {name} has no weights installed in {model_dir}: run "
            f"`songkhoe imaging install {name}`"
            + (
                ""
                if manifest.demo
                else " (add --from FILE --sha256 HASH on a machine without internet)"
            )
        )
    if file_sha256(onnx_path) != record["onnx_sha256"]:
        raise ChecksumMismatch(f"model {name}: model.onnx does not match its recorded SHA-256")
    return InstalledModel(
        Manifest.from_dict(record["manifest"]),
        onnx_path,
        record["onnx_sha256"],
        record.get("source_sha256"),
        record["installed_at"],
    )


def is_installed(name: str, model_dir: Path) -> bool:
    return (model_dir / name / "model.onnx").is_file() and (
        _installed_record(model_dir, name) is not None
    )


def resolve(choice: str, model_dir: Path) -> str:
    """The model name a setting means: `auto` is the first installed model, clinical ones
    before the demonstration model."""
    if choice != AUTO:
        return choice
    for manifest in sorted(catalog(model_dir), key=lambda m: m.demo):
        if is_installed(manifest.name, model_dir):
            return manifest.name
    raise ModelNotInstalled(
        "no imaging model is installed: run `songkhoe imaging install phantom-demo` for the "
        "demonstration, or install a clinical model"
    )


def save_installed(
    manifest: Manifest,
    onnx_file: Path,
    model_dir: Path,
    *,
    source_sha256: str | None,
    operating_point: float | None = None,
) -> InstalledModel:
    """Install an ONNX file under the model's directory, replacing an earlier install whole."""
    if operating_point is not None:
        manifest = replace(manifest, operating_point=operating_point)
        manifest.check()
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=model_dir, prefix=f".{manifest.name}-"))
    try:
        shutil.copyfile(onnx_file, staging / "model.onnx")
        record = {
            "manifest": manifest.to_dict(),
            "onnx_sha256": file_sha256(staging / "model.onnx"),
            "source_sha256": source_sha256,
            "installed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        (staging / "installed.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        target = model_dir / manifest.name
        retired = model_dir / f".{manifest.name}.old"
        shutil.rmtree(retired, ignore_errors=True)
        if target.exists():
            os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed(manifest.name, model_dir)
