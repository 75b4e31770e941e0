"""Installing models: the published weights (downloaded, or a file brought on a USB stick) are
checked against their SHA-256 and converted to ONNX; the demonstration model is trained here;
a hospital's own ONNX model is checked and registered. Converting and training need PyTorch
(`pip install 'songkhoe[train]'`); running an installed model does not."""

import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from songkhoe.imaging.registry import (
    InstalledModel,
    Manifest,
    ModelError,
    check_sha256,
    manifest_of,
    save_installed,
)

DOWNLOAD_TIMEOUT_S = 60


def _torch_needed() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ModelError(
            "converting or training a model needs PyTorch: pip install 'songkhoe[train]'"
        ) from None


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as answer:
            with target.open("wb") as out:
                while chunk := answer.read(1 << 20):
                    out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(
            f"cannot download {url} ({exc}); download it on a machine with internet and run "
            "`songkhoe imaging install NAME --from FILE --sha256 HASH`"
        ) from None


def install(
    name: str,
    *,
    model_dir: Path,
    source: Path | None = None,
    sha256: str | None = None,
    operating_point: float | None = None,
) -> InstalledModel:
    """Install a built-in model (see the module docstring)."""
    manifest = manifest_of(name, model_dir)
    if manifest.demo:
        return _install_phantom(manifest, model_dir, operating_point)
    if manifest.architecture != "densenet121":
        raise ModelError(f"model {name} is a registered ONNX model: register it again to update it")
    expected = manifest.sha256 or sha256
    if expected is None:
        raise ModelError(
            f"the publisher of {name} gives no SHA-256 for its weights: give --sha256 HASH, "
            "the hash of the file as obtained from a source you trust"
        )
    if manifest.sha256 and sha256 and sha256.lower() != manifest.sha256:
        raise ModelError(f"--sha256 differs from the published SHA-256 of {name}")
    with tempfile.TemporaryDirectory() as work:
        if source is None:
            source = Path(work) / "weights.pt"
            _download(manifest.source["url"], source)
        elif not source.is_file():
            raise ModelError(f"--from {source}: no such file")
        source_sha256 = check_sha256(source, expected)
        _torch_needed()
        from songkhoe.imaging.convert import densenet_from_file, export_onnx

        onnx_file = Path(work) / "model.onnx"
        export_onnx(
            densenet_from_file(source, len(manifest.labels)), manifest.input_size, onnx_file
        )
        return save_installed(
            manifest,
            onnx_file,
            model_dir,
            source_sha256=source_sha256,
            operating_point=operating_point,
        )


def _install_phantom(
    manifest: Manifest, model_dir: Path, operating_point: float | None
) -> InstalledModel:
    _torch_needed()
    from songkhoe.imaging.convert import export_onnx
    from songkhoe.imaging.phantom import train

    net = train(size=manifest.input_size)
    with tempfile.TemporaryDirectory() as work:
        onnx_file = Path(work) / "model.onnx"
        export_onnx(net, manifest.input_size, onnx_file)
        return save_installed(
            manifest, onnx_file, model_dir, source_sha256=None, operating_point=operating_point
        )


def register(
    *,
    name: str,
    onnx_file: Path,
    sha256: str,
    labels: list[str],
    input_size: int,
    model_dir: Path,
    title: str,
    source: str,
    licence: str,
    suspicion_labels: list[str] | None = None,
    operating_point: float = 0.5,
    postprocess: str = "sigmoid",
) -> InstalledModel:
    """Register a hospital's own ONNX model: one input (N, 1, S, S) in TorchXRayVision's
    [-1024, 1024] scale, a `logits` output (N, len(labels)) and, for heatmaps, a `cam` output
    (N, len(labels), h, w)."""
    from songkhoe.imaging.inference import session_for
    from songkhoe.imaging.registry import builtin_manifests

    if name in {m.name for m in builtin_manifests()}:
        raise ModelError(f"{name} is a built-in model: choose another name")
    if not onnx_file.is_file():
        raise ModelError(f"--onnx {onnx_file}: no such file")
    source_sha256 = check_sha256(onnx_file, sha256)
    manifest = Manifest.from_dict(
        {
            "name": name,
            "title": title,
            "architecture": "onnx",
            "labels": labels,
            "input_size": input_size,
            "normalisation": "xrv",
            "postprocess": postprocess,
            "suspicion_labels": suspicion_labels or labels,
            "operating_point": operating_point,
            "licence": licence,
            "source": {"format": "onnx", "project": source},
            "sha256": source_sha256,
        }
    )
    try:
        session = session_for(str(onnx_file), ["CPUExecutionProvider"])
        probe = np.zeros((1, 1, input_size, input_size), np.float32)
        logits = session.run(["logits"], {session.get_inputs()[0].name: probe})[0]
    except Exception as exc:  # ONNX Runtime raises its own error types
        raise ModelError(
            f"{onnx_file.name}: cannot run it on a {input_size}×{input_size} "
            f"film ({str(exc).splitlines()[0]})"
        ) from None
    if logits.shape != (1, len(labels)):
        raise ModelError(
            f"{onnx_file.name}: `logits` has shape {logits.shape}, expected "
            f"(1, {len(labels)}) for the labels given"
        )
    return save_installed(manifest, onnx_file, model_dir, source_sha256=source_sha256)
