"""DenseNet: Huang et al. 2017, "Densely connected convolutional networks".

Inside a dense block every layer receives the concatenation of the block's
input and all earlier layers' outputs, and adds k (the growth rate) new
channels: layer l of a block sees k0 + (l-1)k channels (section 3).
  DenseLayer   BN-ReLU-1x1 conv to 4k (the bottleneck, "B"), BN-ReLU-3x3 conv
               to k, concatenated to its input; bottleneck=False: BN-ReLU-3x3 only
  DenseBlock   the layers in sequence
  Transition   BN-ReLU-1x1 conv to floor(theta * channels) (compression, "C"),
               2x2 average pool

densenet121() is Table 1's DenseNet-121 (k=32, blocks of 6, 12, 24, 16 layers,
64 initial channels, theta=0.5); its parameter count (7,978,856) and
state_dict keys equal torchvision's densenet121.

cifar_densenet() is section 4's CIFAR network in the four variants of Table 2
(DenseNet, -B, -C, -BC): a 3x3 conv, three dense blocks on 32, 16, 8 pixel maps
with transitions between them, BN-ReLU, global average pooling and an fc.
cifar_densenet_bc() is its BC variant; L=100, k=12 is the paper's
0.8M-parameter model (4.51 % error on C10+).
"""
from collections import OrderedDict

import torch
import torch.nn as nn

from ._registry import register
from .init import he_initialize


class DenseLayer(nn.Module):
    """Adds growth_rate channels to its input; in_channels is what it sees."""

    def __init__(self, in_channels, growth_rate, bn_size=4, bottleneck=True):
        super().__init__()
        self.in_channels = in_channels
        if bottleneck:
            self.norm1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU()
            self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False)
            c = bn_size * growth_rate
        else:
            c = in_channels
        self.bottleneck = bottleneck
        self.norm2 = nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(c, growth_rate, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(self.relu1(self.norm1(x))) if self.bottleneck else x
        out = self.conv2(self.relu2(self.norm2(out)))
        return torch.cat([x, out], 1)


class DenseBlock(nn.Sequential):
    """num_layers DenseLayers: channels grow from in_channels by growth_rate per layer."""

    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4, bottleneck=True):
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, bottleneck)
            self.add_module(f"denselayer{i + 1}", layer)
        self.in_channels = in_channels
        self.out_channels = in_channels + num_layers * growth_rate


class Transition(nn.Sequential):
    """Between dense blocks: 1x1 conv to out_channels, halve the map with 2x2 average pooling."""

    def __init__(self, in_channels, out_channels):
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(in_channels)),
            ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False)),
            ("pool", nn.AvgPool2d(2, stride=2)),
        ]))


def _dense_features(stem, in_channels, block_config, growth_rate, compression, bn_size, bottleneck):
    """The stem's layers (an OrderedDict), then dense blocks with transitions between them,
    then the final batch norm. Returns the feature extractor and its output channels."""
    features = nn.Sequential(stem)
    c = in_channels
    for i, num_layers in enumerate(block_config):
        block = DenseBlock(num_layers, c, growth_rate, bn_size, bottleneck)
        features.add_module(f"denseblock{i + 1}", block)
        c = block.out_channels
        if i != len(block_config) - 1:
            c_out = int(compression * c)
            features.add_module(f"transition{i + 1}", Transition(c, c_out))
            c = c_out
    features.add_module("norm5", nn.BatchNorm2d(c))  # torchvision's key name, whatever the block count
    return features, c


class DenseNet(nn.Module):
    """Dense blocks with transitions; the stem (an OrderedDict of layers) decides
    ImageNet or CIFAR sizes."""

    def __init__(self, stem, stem_channels, block_config, growth_rate, compression=0.5,
                 bn_size=4, bottleneck=True, num_classes=1000):
        super().__init__()
        self.features, c = _dense_features(stem, stem_channels, block_config, growth_rate,
                                           compression, bn_size, bottleneck)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        he_initialize(self, mode="fan_in")
        nn.init.zeros_(self.classifier.bias)  # as torchvision: the fc keeps PyTorch's default weights

    def forward(self, x):
        x = self.relu(self.features(x))
        return self.classifier(self.avgpool(x).flatten(1))


def imagenet_stem(channels):
    """Table 1's first rows: 7x7/2 conv, 3x3/2 max pool (224 -> 56 pixels)."""
    return OrderedDict([
        ("conv0", nn.Conv2d(3, channels, 7, stride=2, padding=3, bias=False)),
        ("norm0", nn.BatchNorm2d(channels)),
        ("relu0", nn.ReLU()),
        ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
    ])


@register
def densenet121(num_classes=1000):
    """DenseNet-121: k=32, blocks of 6, 12, 24, 16 bottleneck layers, theta=0.5."""
    return DenseNet(imagenet_stem(64), 64, (6, 12, 24, 16), growth_rate=32, num_classes=num_classes)


@register
def cifar_densenet(depth=100, growth_rate=12, bottleneck=True, compression=0.5, num_classes=10):
    """A CIFAR DenseNet in any of section 3's four variants: DenseNet, DenseNet-B
    (bottleneck=True), DenseNet-C (compression < 1) and DenseNet-BC (both).

    A 3x3 convolution first, then three dense blocks on 32, 16 and 8 pixel maps.
    depth L counts the weight layers: a block has (L-4)/3 layers, or (L-4)/6
    bottleneck layers (two convolutions each). The first convolution has 16
    channels in the plain DenseNet and 2k (twice the growth rate) in DenseNet-BC
    (section 4.2); the course gives DenseNet-B and DenseNet-C 2k as well.
    """
    convolutions_per_layer = 2 if bottleneck else 1
    if depth < 4 or (depth - 4) % (3 * convolutions_per_layer):
        raise ValueError(f"depth must be {3 * convolutions_per_layer}n+4 for a DenseNet"
                         f"{'-B' if bottleneck else ''} ({4 + 3 * convolutions_per_layer}, ...), got {depth}")
    per_block = (depth - 4) // (3 * convolutions_per_layer)
    stem_channels = 2 * growth_rate if bottleneck or compression < 1 else 16
    stem = OrderedDict([("conv0", nn.Conv2d(3, stem_channels, 3, padding=1, bias=False))])
    return DenseNet(stem, stem_channels, (per_block,) * 3, growth_rate, compression, bottleneck=bottleneck,
                    num_classes=num_classes)


@register
def cifar_densenet_bc(depth=100, growth_rate=12, compression=0.5, num_classes=10):
    """DenseNet-BC for 32x32 images: three blocks of (depth-4)/6 bottleneck layers."""
    return cifar_densenet(depth, growth_rate, bottleneck=True, compression=compression, num_classes=num_classes)


@register
def cifar_densenet_bc100(num_classes=10):
    """The paper's DenseNet-BC with L=100, k=12 (0.8M parameters)."""
    return cifar_densenet_bc(100, 12, num_classes=num_classes)


@register
def cifar_densenet_bc_small(num_classes=10):
    """L=40, k=12: six bottleneck layers per block, for quick runs."""
    return cifar_densenet_bc(40, 12, num_classes=num_classes)
