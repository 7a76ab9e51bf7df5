"""CIFAR-style ResNet-18 (3x3 stem, no max-pool), as in the paper's follow-ups."""

from __future__ import annotations

from torch import nn


def shortcut(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Identity, or a 1x1 projection (conv, batch norm) where the block changes shape: keys shortcut.0/.1."""
    if stride == 1 and cin == cout:
        return nn.Sequential()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = shortcut(cin, cout, stride)
        self.relu1, self.relu_out = nn.ReLU(), nn.ReLU()  # modules, so a hook can reach them (fake_relu)

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu_out(out + self.shortcut(x))


def resnet18_body(channels: int, height: int, width: int, base: int = 64):
    layers = [nn.Conv2d(channels, base, 3, 1, 1, bias=False), nn.BatchNorm2d(base), nn.ReLU(inplace=True)]
    cin = base
    for i, cout in enumerate([base, 2 * base, 4 * base, 8 * base]):
        for j in range(2):
            layers.append(BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), cin
