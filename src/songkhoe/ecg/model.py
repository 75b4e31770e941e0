"""The rhythm model shipped inside the package (`ecg/model/`): `rhythm.onnx` (LightGBM exported
by `scripts/train_ecg.py`), `rhythm.json` (its classes, feature names, decision weights and the
SHA-256 of the ONNX file, checked at every load) and `validation.json` (the held-out report).
Nothing is downloaded at run time."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from songkhoe.ecg.features import FEATURES

MODEL_DIR = Path(__file__).with_name("model")
MISSING = -1000.0  # a feature that does not apply (NaN), below every real value
KEPT_MANTISSA_BITS = 15  # of float32's 23


def model_input(rows: np.ndarray) -> np.ndarray:
    """Feature rows as the model reads them, in training and at run time: float32, NaN as
    MISSING, each value's mantissa cut to 15 bits (4.5 significant digits). The cut keeps
    the distinct values of a feature at least 256 float32 steps apart, so the split thresholds
    LightGBM places between them (in double) stay between them when the ONNX export stores
    them as float32; without it 22 of 1,306 held-out records got other probabilities (up to
    0.04) from ONNX Runtime than from LightGBM."""
    x = np.nan_to_num(rows.astype(np.float32), nan=MISSING, posinf=1e30, neginf=-1e30)
    mask = np.int32(-(1 << (23 - KEPT_MANTISSA_BITS)))
    return (x.view(np.int32) & mask).view(np.float32)


class ModelError(Exception):
    """The shipped model is missing, altered or does not fit this code."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot be read ({exc}); reinstall songkhoe") from None


@dataclass(frozen=True, slots=True)
class RhythmModel:
    """The loaded rhythm model: class probabilities of feature rows, and the decision."""

    name: str
    classes: tuple[str, ...]
    weights: np.ndarray
    session: ort.InferenceSession

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> "RhythmModel":
        manifest = read_json(folder / "rhythm.json")
        onnx_path = folder / "rhythm.onnx"
        if not onnx_path.is_file():
            raise ModelError(f"{onnx_path}: missing; reinstall songkhoe")
        if file_sha256(onnx_path) != manifest["onnx_sha256"]:
            raise ModelError(f"{onnx_path}: does not match the SHA-256 in rhythm.json")
        if tuple(manifest["features"]) != FEATURES:
            raise ModelError(f"{folder}: the model was trained on other features than these")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return cls(
            name=str(manifest["name"]),
            classes=tuple(manifest["classes"]),
            weights=np.asarray(manifest["decision_weights"], dtype=np.float64),
            session=session,
        )

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """(records, classes) probabilities of feature rows."""
        found = self.session.run(["probabilities"], {"features": model_input(rows)})
        return np.asarray(found[0], dtype=np.float64)

    def decide(self, probabilities: np.ndarray) -> list[str]:
        """The class of each row: the largest probability times its class's decision weight."""
        return [self.classes[i] for i in np.argmax(probabilities * self.weights, axis=1)]
