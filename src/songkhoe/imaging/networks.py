"""The networks, in PyTorch (the optional `train` extra): DenseNet-121 as TorchXRayVision builds
it, the small phantom CNN, and the head that makes an exported model give its class activation
maps.

DenseNet-121 (Huang et al. 2017, https://arxiv.org/abs/1608.06993) with TorchXRayVision's
changes (torchxrayvision 1.x, models.py: one input channel, 18 outputs, ReLU then global average
pooling of `features` before `classifier`). Module and parameter names are torchvision's and
TorchXRayVision's (`features.denseblock1.denselayer1.norm1.weight`, ..., `classifier.bias`), so
the published `densenet121-res224-all` state dict loads with `strict=True`.
"""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

DENSENET121 = {"growth_rate": 32, "block_config": (6, 12, 24, 16), "num_init_features": 64}


class _DenseLayer(nn.Sequential):
    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.add_module("norm1", nn.BatchNorm2d(num_input_features))
        self.add_module("relu1", nn.ReLU(inplace=True))
        self.add_module(
            "conv1",
            nn.Conv2d(num_input_features, bn_size * growth_rate, 1, stride=1, bias=False),
        )
        self.add_module("norm2", nn.BatchNorm2d(bn_size * growth_rate))
        self.add_module("relu2", nn.ReLU(inplace=True))
        self.add_module(
            "conv2",
            nn.Conv2d(bn_size * growth_rate, growth_rate, 3, stride=1, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, super().forward(x)], 1)


class _DenseBlock(nn.Sequential):
    def __init__(self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int):
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)


class _Transition(nn.Sequential):
    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(num_input_features))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module(
            "conv", nn.Conv2d(num_input_features, num_output_features, 1, stride=1, bias=False)
        )
        self.add_module("pool", nn.AvgPool2d(kernel_size=2, stride=2))


class DenseNet(nn.Module):
    """DenseNet-BC with `features` (ending in `norm5`) and a linear `classifier`; forward gives
    the logits (TorchXRayVision's sigmoid and operating-point scaling are applied after the
    ONNX model, see `songkhoe.imaging.inference`)."""

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: tuple[int, ...] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        num_classes: int = 18,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv0", nn.Conv2d(in_channels, num_init_features, 7, 2, 3, bias=False)),
                    ("norm0", nn.BatchNorm2d(num_init_features)),
                    ("relu0", nn.ReLU(inplace=True)),
                    ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
                ]
            )
        )
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers, num_features, bn_size, growth_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(
                    f"transition{i + 1}", _Transition(num_features, num_features // 2)
                )
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(F.relu(self.features(x)), 1).flatten(1)
        return self.classifier(pooled)


def densenet121(num_classes: int = 18) -> DenseNet:
    return DenseNet(**DENSENET121, num_classes=num_classes)


class Scale(nn.Module):
    """Multiplies by a constant: brings TorchXRayVision's [-1024, 1024] inputs to [-1, 1]."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class PhantomNet(nn.Module):
    """A small CNN for the 64×64 phantom films, built like DenseNet's ends (a `features` stack,
    ReLU, global average pooling, a linear `classifier`) so the same CAM head exports it; two
    poolings leave a 16×16 feature map, fine enough to point at a nodule."""

    def __init__(self, num_classes: int = 1, width: int = 8) -> None:
        super().__init__()
        layers: list[nn.Module] = [Scale(1 / 1024)]
        channels = 1
        for out, pool in ((width, True), (width * 2, True), (width * 4, False)):
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            layers += [nn.MaxPool2d(2)] if pool else []
            channels = out
        layers += [nn.Conv2d(channels, width * 4, 3, padding=1), nn.BatchNorm2d(width * 4)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(F.relu(self.features(x)), 1).flatten(1)
        return self.classifier(pooled)


class CamHead(nn.Module):
    """What is exported to ONNX: the logits, the final feature map after its ReLU, and the class
    activation maps `cam[n, k] = sum_c W[k, c] * relu(features)[n, c]` (Zhou et al. 2016,
    https://arxiv.org/abs/1512.04150), whose spatial mean plus the bias is the logit; no
    gradient is needed."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = F.relu(self.net.features(x))
        logits = self.net.classifier(features.mean(dim=(2, 3)))
        weight = self.net.classifier.weight
        cam = F.conv2d(features, weight[:, :, None, None])
        return logits, features, cam
