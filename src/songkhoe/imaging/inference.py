"""Running a model: films through TorchXRayVision's preprocessing, batched through ONNX Runtime
(the CUDA provider when present, else the CPU), the outputs scaled as the model's publisher does,
a suspicion score against the operating point, and the class activation map of the top finding
as a heatmap with its bounding region."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from scipy.special import expit

from songkhoe.imaging.heatmap import film_heat, region
from songkhoe.imaging.ingest import Film
from songkhoe.imaging.preprocess import Crop, model_input
from songkhoe.imaging.registry import InstalledModel, Manifest, ModelError

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a model says about one film."""

    model: str
    demo: bool
    scores: dict[str, float]  # per finding, 0..1 (TorchXRayVision: 0.5 at its operating point)
    suspicion: float  # the highest score among the model's suspicion findings
    operating_point: float
    top_finding: str
    heat: np.ndarray | None  # film-sized map of the top finding in 0..1, None without a CAM
    region: tuple[int, int, int, int] | None  # (x, y, width, height) in film pixels

    @property
    def positive(self) -> bool:
        return self.suspicion >= self.operating_point


def op_norm(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """TorchXRayVision's `models.op_norm`: each finding rescaled so that its operating
    threshold maps to 0.5 (below: p / (2 t); above: 1 - (1 - p) / (2 (1 - t))); 0.5 where the
    threshold is NaN."""
    t = np.broadcast_to(thresholds, probabilities.shape)
    below = probabilities / (t * 2)
    above = 1.0 - (1.0 - probabilities) / ((1 - t) * 2)
    scaled = np.where(probabilities < t, below, above)
    return np.where(np.isnan(t), 0.5, scaled)


def scores_of(logits: np.ndarray, manifest: Manifest) -> np.ndarray:
    """The model's logits as its publisher reports them."""
    if manifest.postprocess == "none":
        return logits
    probabilities = expit(logits.astype(np.float64))  # the logistic function, no overflow
    if manifest.postprocess == "sigmoid-op-norm":
        return op_norm(probabilities, np.asarray(manifest.op_threshs, dtype=np.float64))
    return probabilities


def session_for(path: str, providers: Sequence[str] | None = None) -> ort.InferenceSession:
    available = ort.get_available_providers()
    chosen = list(providers or [p for p in PREFERRED_PROVIDERS if p in available])
    return ort.InferenceSession(path, providers=chosen)


class Analyzer:
    """One installed model, loaded once, reading batches of films."""

    def __init__(self, model: InstalledModel, providers: Sequence[str] | None = None) -> None:
        self.manifest = model.manifest
        self.session = session_for(str(model.onnx_path), providers)
        inputs = self.session.get_inputs()
        outputs = [o.name for o in self.session.get_outputs()]
        if len(inputs) != 1 or "logits" not in outputs:
            raise ModelError(
                f"model {self.manifest.name}: the ONNX graph needs one input and a `logits` output"
            )
        self.input_name = inputs[0].name
        self.outputs = ["logits", "cam"] if "cam" in outputs else ["logits"]
        suspicious = set(self.manifest.suspicion_labels)
        self.suspicion_index = [i for i, x in enumerate(self.manifest.labels) if x in suspicious]

    def preprocess(self, films: Sequence[Film]) -> tuple[np.ndarray, list[Crop]]:
        size = self.manifest.input_size
        prepared = [model_input(f.pixels, f.maxval, size) for f in films]
        return np.stack([x for x, _ in prepared]), [c for _, c in prepared]

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores (N, K) and class activation maps (N, K, h, w) or None, for prepared input."""
        found = self.session.run(self.outputs, {self.input_name: batch})
        logits = found[0]
        if logits.shape[1] != len(self.manifest.labels):
            raise ModelError(
                f"model {self.manifest.name} gives {logits.shape[1]} outputs for "
                f"{len(self.manifest.labels)} labels"
            )
        return scores_of(logits, self.manifest), (found[1] if len(found) > 1 else None)

    def analyze(self, films: Sequence[Film], batch_size: int = 8) -> list[Analysis]:
        results: list[Analysis] = []
        for start in range(0, len(films), batch_size):
            chunk = films[start : start + batch_size]
            batch, crops = self.preprocess(chunk)
            scores, cams = self.run(batch)
            for i, film in enumerate(chunk):
                cam = None if cams is None else cams[i]
                results.append(self._analysis(scores[i], cam, crops[i], film))
        return results

    def _analysis(self, scores: np.ndarray, cam: np.ndarray | None, crop: Crop, film: Film):
        m = self.manifest
        top = max(self.suspicion_index, key=lambda i: scores[i])
        heat = None if cam is None else film_heat(cam[top], crop, film.pixels.shape)
        has_map = heat is not None and heat.max() > 0
        return Analysis(
            model=m.name,
            demo=m.demo,
            scores={label: float(s) for label, s in zip(m.labels, scores, strict=True)},
            suspicion=float(scores[top]),
            operating_point=m.operating_point,
            top_finding=m.labels[top],
            heat=heat if has_map else None,
            region=region(heat) if has_map else None,
        )
