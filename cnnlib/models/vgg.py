"""VGG: Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale
Image Recognition" (ICLR 2015), Table 1, configurations A, B, D and E.

Only 3x3 convolutions (stride 1, padding 1) and 2x2 max poolings ("M"); the
names count the weight layers: vgg16 has 13 convolutions and 3 FC layers.

vgg11 / vgg13 / vgg16 / vgg19 (and the _bn variants): ImageNet, with
torchvision's layer sizes, so their parameter counts equal torchvision's
(vgg16: 138,357,544). Like torchvision's, the convolutions keep their bias when
followed by batch norm.

cifar_vgg11 / 13 / 16 / 19: the same table for 32x32 images, with batch norm,
channels scaled by `width` (width=64 is the table's 64-128-256-512-512). The
five poolings take 32x32 to 1x1, and the classifier is two Linear layers,
8w -> 8w -> classes, with dropout between them: the CIFAR image of the paper's
FC-4096, FC-4096, FC-1000.

Section 3.2 (testing): "the fully-connected layers are first converted to
convolutional layers (the first FC layer to a 7x7 conv. layer, the last two FC
layers to 1x1 conv. layers)", so the net runs on any image size and gives a map
of class scores. classifier_as_convolutions() does that to a built model.
"""
import copy
import math

import torch.nn as nn

from ._registry import register
from .init import he_initialize, initialize_classifier

# Table 1: channels of each 3x3 convolution, "M" for a 2x2 max pooling.
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}


def make_features(config, batch_norm, scale=1.0):
    layers, c_in = [], 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        c_out = int(item * scale)
        layers.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
        c_in = c_out
    return nn.Sequential(*layers), c_in


class VGG(nn.Module):
    """features (Table 1's convolutions and poolings), then Linear layers.

    pool_size: the ImageNet models average-pool to 7x7 as torchvision's do, so
    the first Linear always gets 512 x 7 x 7 inputs; None leaves the feature
    map as it is (the CIFAR models, 1x1 at 32x32).
    """

    def __init__(self, config, features, classifier, pool_size=None):
        super().__init__()
        self.config = config
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size) if pool_size else nn.Identity()
        self.classifier = classifier
        he_initialize(self.features, mode="fan_out")  # torchvision's choice for VGG
        he_initialize(self.classifier, mode="fan_in", layers=(nn.Linear,))
        initialize_classifier(self.classifier[-1])

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def imagenet_classifier(channels, num_classes=1000, dropout=0.5):
    """Table 1's last rows: FC-4096, FC-4096, FC-1000 on the 7x7 map of a 224x224 image."""
    return nn.Sequential(
        nn.Linear(channels * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
    )


def _imagenet_vgg(depth, batch_norm, num_classes, dropout):
    config = CONFIGS[DEPTHS[depth]]
    features, channels = make_features(config, batch_norm)
    return VGG(config, features, imagenet_classifier(channels, num_classes, dropout), pool_size=7)


def _cifar_vgg(depth, width, num_classes, batch_norm, dropout):
    config = CONFIGS[DEPTHS[depth]]
    features, channels = make_features(config, batch_norm, scale=width / 64)
    classifier = nn.Sequential(
        nn.Linear(channels, channels), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(channels, num_classes),
    )
    return VGG(config, features, classifier)


@register
def vgg11(num_classes=1000, batch_norm=False, dropout=0.5):
    """Configuration A: 8 convolutions + 3 FC."""
    return _imagenet_vgg(11, batch_norm, num_classes, dropout)


@register
def vgg13(num_classes=1000, batch_norm=False, dropout=0.5):
    """Configuration B: 10 convolutions + 3 FC."""
    return _imagenet_vgg(13, batch_norm, num_classes, dropout)


@register
def vgg16(num_classes=1000, batch_norm=False, dropout=0.5):
    """Configuration D: 13 convolutions + 3 FC."""
    return _imagenet_vgg(16, batch_norm, num_classes, dropout)


@register
def vgg19(num_classes=1000, batch_norm=False, dropout=0.5):
    """Configuration E: 16 convolutions + 3 FC."""
    return _imagenet_vgg(19, batch_norm, num_classes, dropout)


@register
def vgg11_bn(num_classes=1000, dropout=0.5):
    return _imagenet_vgg(11, True, num_classes, dropout)


@register
def vgg13_bn(num_classes=1000, dropout=0.5):
    return _imagenet_vgg(13, True, num_classes, dropout)


@register
def vgg16_bn(num_classes=1000, dropout=0.5):
    return _imagenet_vgg(16, True, num_classes, dropout)


@register
def vgg19_bn(num_classes=1000, dropout=0.5):
    return _imagenet_vgg(19, True, num_classes, dropout)


@register
def cifar_vgg11(width=64, num_classes=10, batch_norm=True, dropout=0.5):
    return _cifar_vgg(11, width, num_classes, batch_norm, dropout)


@register
def cifar_vgg13(width=64, num_classes=10, batch_norm=True, dropout=0.5):
    return _cifar_vgg(13, width, num_classes, batch_norm, dropout)


@register
def cifar_vgg16(width=64, num_classes=10, batch_norm=True, dropout=0.5):
    return _cifar_vgg(16, width, num_classes, batch_norm, dropout)


@register
def cifar_vgg19(width=64, num_classes=10, batch_norm=True, dropout=0.5):
    return _cifar_vgg(19, width, num_classes, batch_norm, dropout)


def stages(model):
    """The features split after each pooling: one nn.Sequential per block of Table 1."""
    blocks, current = [], []
    for layer in model.features:
        current.append(layer)
        if isinstance(layer, nn.MaxPool2d):
            blocks.append(nn.Sequential(*current))
            current = []
    if current:
        blocks.append(nn.Sequential(*current))
    return blocks


def linear_as_convolution(linear, in_channels):
    """The Conv2d that computes `linear` at every position of a map with `in_channels`.

    A Linear on a flattened C x k x k map is a k x k convolution with C input
    channels: flatten() orders the inputs channel first, then rows, then
    columns, which is the layout of a convolution's weight.
    """
    kernel = math.isqrt(linear.in_features // in_channels)
    if in_channels * kernel * kernel != linear.in_features:
        raise ValueError(f"{linear.in_features} inputs are not {in_channels} channels of a square map")
    conv = nn.Conv2d(in_channels, linear.out_features, kernel, device=linear.weight.device,
                     dtype=linear.weight.dtype)
    conv.weight.data.copy_(linear.weight.data.view(conv.weight.shape))
    conv.bias.data.copy_(linear.bias.data)
    return conv


def classifier_as_convolutions(model):
    """A fully convolutional copy of a VGG (Section 3.2, testing).

    The first Linear becomes a k x k convolution (7x7 for ImageNet, 1x1 for
    CIFAR at 32x32), the others 1x1 convolutions, with the weights copied. The
    output is a map of class scores, N x classes x H' x W': 1x1 on the input
    size the model was built for, larger on larger images. The average pooling
    is left out (it is the identity at that input size). ReLU and Dropout act
    element by element, so they are kept as they are.

    A cell of the map is close to, not equal to, the score of the matching
    crop: the crop's border is zero-padded where the map's window sees the
    neighbouring pixels (the paper's "different convolution boundary conditions").
    """
    layers = [copy.deepcopy(model.features)]
    channels = [m for m in model.features if isinstance(m, nn.Conv2d)][-1].out_channels
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):
            layers.append(linear_as_convolution(layer, channels))
            channels = layer.out_features
        else:
            layers.append(copy.deepcopy(layer))
    return nn.Sequential(*layers).train(model.training)
