"""The CIFAR ResNets of MadryLab's ``robustness`` library, in its parameter layout, and its checkpoint format.

The paper's authors released their robust CIFAR-10 models as that library's
checkpoints: a dict whose ``model`` (or ``state_dict``) entry holds
``module.normalizer.new_mean/new_std`` (the input normalisation),
``module.model.*`` (the network: conv1, bn1, layer1-4, linear) and
``module.attacker.*`` (the same network again, held by the attacker). Here the
network becomes a ``Classifier``: layer1-4 and the average pool are the body
(``features`` is the paper's representation, the input of ``linear``), and
``linear`` is the head.
"""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

from ..core.errors import NotbugsError
from .resnet import BasicBlock, shortcut


class Bottleneck(nn.Module):
    """1x1 - 3x3 - 1x1 with 4x expansion; the same submodule names as the library's."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = shortcut(cin, cout, stride)
        self.relu1, self.relu2, self.relu_out = nn.ReLU(), nn.ReLU(), nn.ReLU()  # hookable (fake_relu)

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu_out(out + self.shortcut(x))


class MadryResNetBody(nn.Module):
    """conv1, bn1, layer1-4 (named as in the library), then global average pooling: the representation."""

    def __init__(self, channels: int, block, blocks: list[int], base: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, base, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU()
        cin = base
        for i, n in enumerate(blocks):
            planes = base * 2 ** i
            layer = []
            for j in range(n):
                layer.append(block(cin, planes, 2 if (i > 0 and j == 0) else 1))
                cin = planes * getattr(block, "expansion", 1)
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.dim = cin

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        for i in range(1, 5):
            out = getattr(self, f"layer{i}")(out)
        return F.adaptive_avg_pool2d(out, 1).flatten(1)  # = the library's avg_pool2d(out, 4) on 32x32 images


def madry_resnet18_body(channels: int, height: int, width: int, base: int = 64):
    body = MadryResNetBody(channels, BasicBlock, [2, 2, 2, 2], base)
    return body, body.dim


def madry_resnet50_body(channels: int, height: int, width: int, base: int = 64):
    body = MadryResNetBody(channels, Bottleneck, [3, 4, 6, 3], base)
    return body, body.dim


def is_madry_checkpoint(state: dict) -> bool:
    return any(k.startswith(("module.model.", "module.normalizer.")) for k in state)


def from_madry(state: dict) -> tuple[dict, list[float], list[float]]:
    """The library's ``AttackerModel`` state dict as this package's ``Classifier`` state dict, with the
    normaliser's per-channel mean and std. The attacker's copy of the network is left out (it is the same)."""
    if "module.normalizer.new_mean" not in state or "module.normalizer.new_std" not in state:
        raise NotbugsError("a robustness checkpoint without module.normalizer.new_mean/new_std; "
                           "is it from MadryLab's robustness library?")
    out = {}
    for key, value in state.items():
        if key.startswith("module.model.linear."):
            out["head." + key.removeprefix("module.model.linear.")] = value
        elif key.startswith("module.model."):
            out["body." + key.removeprefix("module.model.")] = value
    mean, std = state["module.normalizer.new_mean"], state["module.normalizer.new_std"]
    out["normalize.mean"], out["normalize.std"] = mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)
    return out, mean.flatten().tolist(), std.flatten().tolist()


__all__ = ["from_madry", "is_madry_checkpoint", "madry_resnet18_body", "madry_resnet50_body"]
