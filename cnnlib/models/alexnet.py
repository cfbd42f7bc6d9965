"""AlexNet: Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks" (NIPS 2012), Figure 2 and Section 3.

Five convolutions and three fully connected layers. Section 3 names what was
new, and each is an option here so a notebook can switch it off:

    3.1 ReLU                   always on (notebook 01 compares activations)
    3.2 two GPUs               groups=2: conv2, conv4 and conv5 see only their
                               own tower's channels (a grouped convolution)
    3.3 local response norm   lrn=True: after the ReLU of conv1 and conv2
    3.4 overlapping pooling    overlapping_pool=True: 3x3 windows, stride 2
    4.2 dropout                dropout=0.5 in the first two FC layers

alexnet_2012: the paper's own network (Section 3.5): 96, 256, 384, 384, 256
channels in two towers of 48, 128, 192, 192, 128 (groups=2), LRN after conv1
and conv2, overlapping pooling: 60,965,224 parameters (the paper says "60
million").

alexnet: the ImageNet configuration torchvision builds (one tower of 64, 192,
384, 256, 256 channels), so that with its defaults it is torchvision's model:
61,100,840 parameters and the same state_dict. torchvision says it follows
"One weird trick" (Krizhevsky 2014), whose conv4 has 384 channels; its 256
come from cuda-convnet2's one-GPU configuration. The paper's features (lrn,
groups) are off by default there.

cifar_alexnet: the same five convolutions for 32x32 images (5x5 and 3x3
kernels, padded pooling so that 32 -> 16 -> 8 -> 4 either way), channels and
FC width scaled by `width`; the paper's features are on by default.
"""
from typing import NamedTuple

import torch.nn as nn

from ._registry import register
from .init import he_initialize, initialize_classifier


class ConvRow(NamedTuple):
    """One convolution of Figure 2 and what follows its ReLU."""
    channels: int
    kernel: int
    stride: int
    padding: int
    split: bool  # connects only to the same GPU's tower in the paper
    lrn: bool
    pool: bool


# Figure 2 and Section 3.5: channels of both towers together, kernel, stride,
# padding (224x224 inputs, as torchvision pads); split=True reads only its own
# tower's maps; LRN after conv1 and conv2; max pooling after conv1, conv2, conv5.
PAPER_CONVS = [
    ConvRow(96, 11, 4, 2, split=False, lrn=True, pool=True),
    ConvRow(256, 5, 1, 2, split=True, lrn=True, pool=True),
    ConvRow(384, 3, 1, 1, split=False, lrn=False, pool=False),
    ConvRow(384, 3, 1, 1, split=True, lrn=False, pool=False),
    ConvRow(256, 3, 1, 1, split=True, lrn=False, pool=True),
]

# The same rows with torchvision's channel counts: 64, 192, 384, 256, 256 in one tower.
IMAGENET_CONVS = [row._replace(channels=channels) for row, channels in zip(PAPER_CONVS, (64, 192, 384, 256, 256))]

# The same rows for 32x32 inputs at width=64: an 11x11 stride-4 first layer
# would leave nothing of a 32x32 image, so conv1 is 5x5 with stride 1.
CIFAR_CONVS = [IMAGENET_CONVS[0]._replace(kernel=5, stride=1), *IMAGENET_CONVS[1:]]


def local_response_norm():
    """Section 3.3: size 5, alpha 1e-4, beta 0.75, k 2.

    PyTorch divides alpha by the size (b = a / (k + alpha/n * sum a^2)^beta),
    the paper does not, so the paper's alpha 1e-4 is PyTorch's 5 * 1e-4.
    """
    size = 5
    return nn.LocalResponseNorm(size, alpha=1e-4 * size, beta=0.75, k=2.0)


def max_pool(overlapping, padding=0):
    """Section 3.4: 3x3 windows with stride 2 overlap; 2x2 windows with stride 2 do not.

    `padding` applies to the 3x3 window only; it makes both give the same size
    from an even input (the CIFAR configuration).
    """
    if overlapping:
        return nn.MaxPool2d(kernel_size=3, stride=2, padding=padding)
    return nn.MaxPool2d(kernel_size=2, stride=2)


def make_features(rows, lrn, groups, overlapping_pool, pool_padding=0, batch_norm=False, scale=1.0):
    layers, c_in = [], 3
    for row in rows:
        c_out = int(row.channels * scale)
        conv_groups = groups if row.split else 1
        if c_in % conv_groups or c_out % conv_groups:
            raise ValueError(f"groups={groups} must divide the channels {c_in} -> {c_out}")
        layers.append(nn.Conv2d(c_in, c_out, row.kernel, row.stride, row.padding,
                                groups=conv_groups, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
        if lrn and row.lrn:
            layers.append(local_response_norm())
        if row.pool:
            layers.append(max_pool(overlapping_pool, pool_padding))
        c_in = c_out
    return nn.Sequential(*layers), c_in


def make_classifier(in_features, hidden, num_classes, dropout):
    """FC6, FC7 (each after dropout, as torchvision places it) and FC8."""
    def drop():
        return [nn.Dropout(dropout)] if dropout > 0 else []
    return nn.Sequential(
        *drop(), nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
        *drop(), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
        nn.Linear(hidden, num_classes),
    )


class AlexNet(nn.Module):
    def __init__(self, features, pool_size, classifier):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = classifier
        # He initialization keeps the signal's scale through the ReLUs without
        # batch norm (the paper's N(0, 0.01) needs its hand-tuned biases and
        # learning rate).
        he_initialize(self, mode="fan_in", layers=(nn.Conv2d, nn.Linear))
        initialize_classifier(self.classifier[-1])

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def imagenet_classifier(channels, num_classes=1000, dropout=0.5):
    """FC6-FC8 of Figure 2 (4096, 4096, classes) on the 6x6 map of a 224x224 image."""
    return make_classifier(channels * 6 * 6, 4096, num_classes, dropout)


@register
def alexnet_2012(num_classes=1000, groups=2, dropout=0.5):
    """The 2012 paper's AlexNet: its channels, two towers (groups=2; groups=1 joins them), LRN."""
    features, channels = make_features(PAPER_CONVS, lrn=True, groups=groups, overlapping_pool=True)
    return AlexNet(features, 6, imagenet_classifier(channels, num_classes, dropout))


@register
def alexnet(num_classes=1000, lrn=False, groups=1, overlapping_pool=True, dropout=0.5):
    """AlexNet for 224x224 ImageNet images; the defaults are torchvision's alexnet."""
    features, channels = make_features(IMAGENET_CONVS, lrn, groups, overlapping_pool)
    return AlexNet(features, 6, imagenet_classifier(channels, num_classes, dropout))


@register
def cifar_alexnet(width=64, num_classes=10, lrn=True, overlapping_pool=True, dropout=0.5,
                  groups=1, batch_norm=False):
    """AlexNet for 32x32 CIFAR-10 images.

    width=64 gives 64, 192, 384, 256, 256 channels and 1024-unit FC layers;
    other widths scale both. Three poolings take 32x32 to 4x4.
    """
    features, channels = make_features(CIFAR_CONVS, lrn, groups, overlapping_pool, pool_padding=1,
                                       batch_norm=batch_norm, scale=width / 64)
    return AlexNet(features, 4, make_classifier(channels * 4 * 4, 16 * width, num_classes, dropout))
