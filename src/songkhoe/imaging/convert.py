"""Turning PyTorch weights into the ONNX models the worker runs (needs the `train` extra).

The exported graph takes `image` (N, 1, S, S) in TorchXRayVision's [-1024, 1024] scale and gives
`logits` (N, K), `features` (N, C, h, w: the final feature map after its ReLU) and `cam`
(N, K, h, w: the class activation maps, see `networks.CamHead`), with a dynamic batch size.
"""

import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from songkhoe.imaging.networks import CamHead, densenet121
from songkhoe.imaging.registry import ModelError

OUTPUTS = ("logits", "features", "cam")
OPSET = 17
LIBRARIES = frozenset(  # what a pickled model may name besides its own classes
    {"torch", "collections", "builtins", "__builtin__", "copyreg", "copy_reg", "numpy", "_codecs"}
)


class _Pickled(nn.Module):
    """Stands in for a class of the pickled model that is not importable here (TorchXRayVision's
    or torchvision's DenseNet classes): nn.Module's own unpickling restores its parameters,
    buffers and submodules, which is all `state_dict()` needs."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.split(".")[0] in LIBRARIES:
            return super().find_class(module, name)
        return _Pickled


_PICKLE = SimpleNamespace(Unpickler=_Unpickler, load=pickle.load, __name__="pickle")


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a weights file: a plain state dict (loaded with weights_only), or a
    whole pickled model as TorchXRayVision publishes them (call this only on a file whose
    SHA-256 was checked: unpickling runs what the file says)."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        loaded = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PICKLE)
    except (RuntimeError, EOFError, OSError) as exc:
        raise ModelError(f"{path.name}: not a PyTorch weights file ({exc})") from None
    if isinstance(loaded, nn.Module):
        loaded = loaded.state_dict()
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(
        isinstance(v, torch.Tensor) for v in loaded.values()
    ):
        raise ModelError(f"{path.name}: holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def densenet_from_file(path: Path, num_classes: int) -> nn.Module:
    """DenseNet-121 with the weights of a file; every parameter must match by name and shape."""
    net = densenet121(num_classes)
    try:
        net.load_state_dict(load_state_dict(path), strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(
            f"{path.name}: not DenseNet-121 weights for {num_classes} findings ({first})"
        ) from None
    return net.eval()


def export_onnx(net: nn.Module, input_size: int, target: Path) -> None:
    """Export `net` (with `features` and a linear `classifier`) and its CAM head to ONNX."""
    head = CamHead(net).eval()
    example = torch.zeros(1, 1, input_size, input_size)
    batch = {0: "batch"}
    with warnings.catch_warnings():  # PyTorch 2.13 calls the TorchScript exporter legacy
        for category in (DeprecationWarning, FutureWarning, UserWarning):
            warnings.simplefilter("ignore", category)
        torch.onnx.export(
            head,
            (example,),
            str(target),
            dynamo=False,
            input_names=["image"],
            output_names=list(OUTPUTS),
            dynamic_axes={name: batch for name in ("image", *OUTPUTS)},
            opset_version=OPSET,
        )
