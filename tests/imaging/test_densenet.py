"""The real DenseNet-121 architecture (random weights) through the same path as the published
weights: state dict names and sizes, `install --from FILE --sha256`, ONNX export with the CAM
head, and ONNX Runtime against PyTorch eager on preprocessed films."""

import sys
import types
import zipfile

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from songkhoe.imaging.commands import imaging
from songkhoe.imaging.inference import Analyzer, scores_of
from songkhoe.imaging.ingest import Film
from songkhoe.imaging.install import install
from songkhoe.imaging.networks import CamHead, DenseNet, densenet121
from songkhoe.imaging.registry import (
    ChecksumMismatch,
    ModelError,
    file_sha256,
    is_installed,
    manifest_of,
)

NAME = "densenet121-res224-all"
TORCHVISION_DENSENET121_PARAMETERS = 7_978_856  # 3 input channels, 1000 classes


@pytest.fixture(scope="module")
def net() -> DenseNet:
    torch.manual_seed(7)
    model = densenet121(18)
    with torch.no_grad():  # random running statistics, so batch norm is not the identity
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def test_names_and_sizes_are_torchvisions_and_torchxrayvisions(net):
    state = net.state_dict()
    assert state["features.conv0.weight"].shape == (64, 1, 7, 7)
    assert state["features.denseblock4.denselayer16.conv2.weight"].shape == (32, 128, 3, 3)
    assert state["features.transition3.conv.weight"].shape == (512, 1024, 1, 1)
    assert state["features.norm5.running_var"].shape == (1024,)
    assert state["classifier.weight"].shape == (18, 1024)
    params = sum(p.numel() for p in net.parameters())
    one_channel = 64 * 3 * 49 - 64 * 1 * 49
    eighteen = (1024 * 1000 + 1000) - (1024 * 18 + 18)
    assert params == TORCHVISION_DENSENET121_PARAMETERS - one_channel - eighteen


def test_install_refuses_a_wrong_sha256_and_writes_nothing(tmp_path, net):
    weights = tmp_path / "weights.pt"
    torch.save(net.state_dict(), weights)
    with pytest.raises(ChecksumMismatch, match="SHA-256 is"):
        install(NAME, model_dir=tmp_path / "models", source=weights, sha256="0" * 64)
    assert not is_installed(NAME, tmp_path / "models")
    result = CliRunner().invoke(
        imaging, ["install", NAME, "--from", str(weights), "--sha256", "f" * 64]
    )
    assert result.exit_code == 2 and "SHA-256 is" in result.output


def test_install_without_a_known_hash_asks_for_one(tmp_path, net):
    weights = tmp_path / "weights.pt"
    torch.save(net.state_dict(), weights)
    with pytest.raises(Exception, match="give --sha256"):
        install(NAME, model_dir=tmp_path / "models", source=weights)


def pickle_as_torchxrayvision(net: DenseNet, target, monkeypatch, **attributes) -> None:
    """torch.save a copy of `net` (with `attributes` set on it) whose classes are
    TorchXRayVision's (torchxrayvision 1.x, models.py: DenseNet, _DenseBlock, _DenseLayer,
    _Transition), gone again after saving."""
    package = types.ModuleType("torchxrayvision")
    models = types.ModuleType("torchxrayvision.models")
    package.models = models
    monkeypatch.setitem(sys.modules, "torchxrayvision", package)
    monkeypatch.setitem(sys.modules, "torchxrayvision.models", models)
    copy = densenet121(18)
    copy.load_state_dict(net.state_dict())
    for module in copy.modules():
        cls = type(module)
        if cls.__module__ == "songkhoe.imaging.networks":
            if not hasattr(models, cls.__name__):
                setattr(
                    models,
                    cls.__name__,
                    type(cls.__name__, (cls,), {"__module__": models.__name__}),
                )
            module.__class__ = getattr(models, cls.__name__)
    for name, value in attributes.items():
        setattr(copy, name, value)
    torch.save(copy, target)
    monkeypatch.delitem(sys.modules, "torchxrayvision.models")
    monkeypatch.delitem(sys.modules, "torchxrayvision")


class Payload:
    """Unpickling this runs `exec` of the code given: what a malicious weights file does."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def test_a_weights_file_that_runs_code_is_refused_unrun(tmp_path, net, monkeypatch):
    marker = tmp_path / "pwned"
    code = f"open({str(marker)!r}, 'w').write('x')"
    plain = tmp_path / "plain.pt"  # a state dict with a payload beside the tensors
    torch.save({**net.state_dict(), "evil": Payload(code)}, plain)
    model = tmp_path / "model.pt"  # TorchXRayVision's pickled model, a payload as an attribute
    pickle_as_torchxrayvision(net, model, monkeypatch, evil=Payload(code))
    for weights in (plain, model):
        with pytest.raises(ModelError, match="not a PyTorch weights file"):
            install(
                NAME, model_dir=tmp_path / "models", source=weights, sha256=file_sha256(weights)
            )
        assert not marker.exists(), f"{weights.name}: its code ran"
    assert not is_installed(NAME, tmp_path / "models")


def test_pickled_model_onnx_matches_pytorch_eager(tmp_path, net, monkeypatch):
    """TorchXRayVision publishes whole pickled models of its own classes: a file like that (its
    classes gone after saving, as here) installs, and ONNX Runtime gives PyTorch's numbers."""
    weights = tmp_path / "xrv.pt"
    pickle_as_torchxrayvision(net, weights, monkeypatch)
    with zipfile.ZipFile(weights) as archive:
        pickled = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    assert b"torchxrayvision.models" in pickled and b"songkhoe" not in pickled

    model_dir = tmp_path / "models"
    installed = install(NAME, model_dir=model_dir, source=weights, sha256=file_sha256(weights))
    assert installed.source_sha256 == file_sha256(weights)
    analyzer = Analyzer(installed)
    rng = np.random.default_rng(0)
    films = [
        Film(rng.uniform(0, 4095, (300, 260)).astype(np.float32), 4095.0, "x") for _ in range(3)
    ]
    batch, crops = analyzer.preprocess(films)
    assert batch.shape == (3, 1, 224, 224) and crops[0].side == 260
    scores, cams = analyzer.run(batch)
    with torch.no_grad():
        logits, features, cam = (t.numpy() for t in CamHead(net)(torch.from_numpy(batch)))
    manifest = manifest_of(NAME, model_dir)
    np.testing.assert_allclose(scores, scores_of(logits, manifest), atol=1e-4)
    assert cams.shape == (3, 18, 7, 7)
    weight, bias = net.classifier.weight.detach().numpy(), net.classifier.bias.detach().numpy()
    np.testing.assert_allclose(cams, np.einsum("kc,nchw->nkhw", weight, features), atol=1e-2)
    np.testing.assert_allclose(cams, cam, atol=1e-2)
    np.testing.assert_allclose(cams.mean(axis=(2, 3)) + bias, logits, rtol=1e-3, atol=1e-2)
    one = analyzer.analyze(films[:1])[0]  # batch of one through the dynamic axis
    assert set(one.scores) == set(manifest.labels) and one.heat.shape == (300, 260)
    assert one.region is not None and one.top_finding in manifest.suspicion_labels
