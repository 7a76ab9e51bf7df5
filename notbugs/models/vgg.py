"""A VGG-style net (VGG-11 layout with batch norm), global-pooled so any image size works."""

from __future__ import annotations

from torch import nn

LAYOUT = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512]


def vgg_body(channels: int, height: int, width: int, scale: float = 1.0):
    layers, cin = [], channels
    for item in LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        cout = max(8, int(item * scale))
        layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), cin
