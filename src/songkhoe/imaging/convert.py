"""Turning PyTorch weights into the ONNX models the worker runs (needs the `train` extra).

The exported graph takes `image` (N, 1, S, S) in TorchXRayVision's [-1024, 1024] scale and gives
`logits` (N, K), `features` (N, C, h, w: the final feature map after its ReLU) and `cam`
(N, K, h, w: the class activation maps, see `networks.CamHead`), with a dynamic batch size.
"""

import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn.backends.thnn import _get_thnn_function_backend

from songkhoe.imaging.networks import CamHead, densenet121
from songkhoe.imaging.registry import ModelError

OUTPUTS = ("logits", "features", "cam")
OPSET = 17
MAX_DEPTH = 32  # of nested modules in a pickled model (DenseNet-121: 4)
MODULE_CLASSES = {  # the module classes a pickled DenseNet names, each an exact (module, name)
    "torchxrayvision.models": ("DenseNet", "_DenseBlock", "_DenseLayer", "_Transition"),
    "torchvision.models.densenet": ("DenseNet", "_DenseBlock", "_DenseLayer", "_Transition"),
    "torch.nn.modules.container": ("Sequential",),
    "torch.nn.modules.conv": ("Conv2d",),
    "torch.nn.modules.batchnorm": ("BatchNorm2d",),
    "torch.nn.modules.activation": ("ReLU",),
    "torch.nn.modules.pooling": ("MaxPool2d", "AvgPool2d"),
    "torch.nn.modules.linear": ("Linear",),
}


class _Module:
    """Stands in for every module class of a pickled model: it keeps the pickled attributes
    (`_parameters`, `_buffers`, `_modules`, ...) and runs no code of the class it replaces."""

    def __setstate__(self, state: object) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


# What torch.load(weights_only=True) may build besides tensors, storages and OrderedDicts (its
# own allowlist): the stand-in under each exact module class name, and the function that
# PyTorch < 1.5 pickled as every module's `_backend` (a no-op kept for unpickling).
SAFE_GLOBALS = [
    *((_Module, f"{module}.{name}") for module, names in MODULE_CLASSES.items() for name in names),
    _get_thnn_function_backend,
]


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a weights file: a plain state dict, or a whole pickled model as
    TorchXRayVision publishes them. Always `torch.load(weights_only=True)`: a file that names
    any other function or class (code to run) is refused, never unpickled."""
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a malformed pickle raises anything; none of it is trusted
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(f"{path.name}: not a PyTorch weights file ({first})") from None
    if isinstance(loaded, _Module):
        loaded = _module_tensors(loaded, "", 0)
    elif isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
    ):
        raise ModelError(f"{path.name}: holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def _module_tensors(module: _Module, prefix: str, depth: int) -> dict[str, object]:
    """The state dict of a pickled module, read from its attributes as nn.Module.state_dict
    would (parameters, persistent buffers, then each submodule's), calling none of its code."""
    if depth > MAX_DEPTH:
        raise ModelError(f"a pickled model nested deeper than {MAX_DEPTH} modules")
    attrs = vars(module)
    parts = {kind: attrs.get(kind) or {} for kind in ("_parameters", "_buffers", "_modules")}
    skipped = attrs.get("_non_persistent_buffers_set") or set()
    if not all(isinstance(p, dict) for p in parts.values()) or not isinstance(skipped, set):
        raise ModelError(f"{prefix or 'the model'}: not a module of a pickled model")
    found: dict[str, object] = {}
    for kind in ("_parameters", "_buffers"):
        for name, value in parts[kind].items():
            if value is not None and not (kind == "_buffers" and name in skipped):
                found[f"{prefix}{name}"] = value
    for name, child in parts["_modules"].items():
        if child is None:
            continue
        if not isinstance(child, _Module):
            raise ModelError(f"{prefix}{name}: not a module of a pickled model")
        found.update(_module_tensors(child, f"{prefix}{name}.", depth + 1))
    return found


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
