"""Layer specs of well-known networks, read off the modules the course's own model
files build, so the arithmetic and the models cannot disagree: VGG from Table 1
(models.vgg.CONFIGS through vgg.make_features), AlexNet from its conv table
(models.alexnet.IMAGENET_CONVS through alexnet.make_features), and their
classifiers. The modules are built on the meta device: shapes only, no memory.
"""
import math
from dataclasses import replace

import torch
import torch.nn as nn

from ..models import alexnet, vgg
from .layers import conv, pool

PER_POSITION = (nn.ReLU, nn.BatchNorm2d, nn.LocalResponseNorm, nn.Dropout, nn.Identity)


def layers_of(modules, in_channels=3):
    """Specs of a sequence of modules: Conv2d, MaxPool2d and AvgPool2d as they are, and a
    Linear on the flattened C x k x k map before it as the k x k convolution it equals
    (VGG paper, Sec. 3.2). Layers that act on each position alone (ReLU, batch norm, LRN,
    dropout) are left out; anything else is refused."""
    layers, channels = [], in_channels
    for m in modules:
        if isinstance(m, nn.Conv2d):
            layers.append(conv(m.kernel_size[0], m.stride[0], m.padding[0], m.dilation[0], in_channels=m.in_channels,
                               out_channels=m.out_channels, groups=m.groups, bias=m.bias is not None))
            channels = m.out_channels
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
            layers.append(pool(m.kernel_size, m.stride, m.padding, getattr(m, "dilation", 1), kind=kind,
                               ceil_mode=m.ceil_mode))
        elif isinstance(m, nn.Linear):
            kernel = math.isqrt(m.in_features // channels)
            if kernel * kernel * channels != m.in_features:
                raise ValueError(f"{m} does not read a square map of {channels} channels")
            layers.append(conv(kernel, in_channels=channels, out_channels=m.out_features, bias=m.bias is not None))
            channels = m.out_features
        elif not isinstance(m, PER_POSITION):
            raise ValueError(f"no layer spec for {type(m).__name__}")
    return layers


def _fc_as_convolutions(fc, features):
    """fc6-fc8 as convolutions, the way the VGG paper runs them at test time (Sec. 3.2)."""
    channels = [layer for layer in features if layer.kind == "conv"][-1].out_channels
    return [replace(layer, name=f"fc{6 + i}") for i, layer in enumerate(layers_of(fc, channels))]


def vgg_stack(depth=16, classifier=False):
    """VGG's features at depth 11, 13, 16 or 19 (Simonyan & Zisserman 2015, Table 1,
    columns A, B, D, E): 3x3 convolutions with padding 1 in five stages, each closed by
    a 2x2 max pooling of stride 2, named conv{stage}_{index} and pool{stage}. VGG-16:
    field 212, jump 32 at pool5.

    classifier=True appends fc6-fc8 as convolutions (7x7, 1x1, 1x1); the parameters
    then equal torchvision's (vgg16: 138,357,544).
    """
    with torch.device("meta"):
        modules, channels = vgg.make_features(vgg.CONFIGS[vgg.DEPTHS[depth]], batch_norm=False)
        fc = vgg.imagenet_classifier(channels)
    features, stage, index = [], 1, 1
    for layer in layers_of(modules):
        if layer.kind == "conv":
            features.append(replace(layer, name=f"conv{stage}_{index}"))
            index += 1
        else:
            features.append(replace(layer, name=f"pool{stage}"))
            stage, index = stage + 1, 1
    return features + (_fc_as_convolutions(fc, features) if classifier else [])


def alexnet_stack(classifier=False, overlapping_pool=True):
    """AlexNet's features as the course builds them (models.alexnet: torchvision's
    one-tower 64-192-384-256-256 channels), named conv1-conv5 and pool1, pool2, pool5.
    Field 195 at pool5 with the paper's overlapping 3x3/2 poolings.

    classifier=True appends fc6-fc8 as convolutions (6x6 on the 6x6 map at a 224
    input, then 1x1); the parameters then equal torchvision's (61,100,840).
    """
    with torch.device("meta"):
        modules, channels = alexnet.make_features(alexnet.IMAGENET_CONVS, lrn=False, groups=1,
                                                  overlapping_pool=overlapping_pool)
        fc = alexnet.imagenet_classifier(channels)
    features, number = [], 0
    for layer in layers_of(modules):
        number += layer.kind == "conv"
        features.append(replace(layer, name=f"{'conv' if layer.kind == 'conv' else 'pool'}{number}"))
    return features + (_fc_as_convolutions(fc, features) if classifier else [])


def dilated_stack(dilations=(1, 2, 4, 8), channels=None):
    """3x3 convolutions with growing dilation, as in Yu & Koltun 2016 ("Multi-scale
    context aggregation by dilated convolutions", Sec. 2-3): padding = dilation
    keeps the map size, and with dilations 1, 2, 4, ... the field after layer i
    is 2^(i+2) - 1 (3, 7, 15, 31): exponential growth for linear parameters.
    """
    return [conv(3, padding=d, dilation=d, in_channels=channels, out_channels=channels, name=f"conv{i + 1}")
            for i, d in enumerate(dilations)]
