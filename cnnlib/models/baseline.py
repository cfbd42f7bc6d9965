"""Small plain CNNs for the first two notebooks.

cifar_baseline: the course's first model (notebook 00), a VGG-like stack of
3x3 convolutions with batch norm, three poolings and a linear classifier.

cifar_deep_plain: a deep stack of 3x3 convolutions with no normalization and
a choice of activation (notebook 01), deep enough for sigmoid's gradients to
vanish on the way down.
"""
import torch.nn as nn

from ._registry import register
from .init import glorot_initialize, he_initialize, initialize_classifier

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def conv_bn_relu(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


@register
def cifar_baseline(width=32, num_classes=10):
    """Three stages of two 3x3 convolutions, each stage ending in 2x2 max pooling."""
    w = width
    return nn.Sequential(
        conv_bn_relu(3, w), conv_bn_relu(w, w), nn.MaxPool2d(2),
        conv_bn_relu(w, 2 * w), conv_bn_relu(2 * w, 2 * w), nn.MaxPool2d(2),
        conv_bn_relu(2 * w, 4 * w), conv_bn_relu(4 * w, 4 * w), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4 * w, num_classes),
    )


class DeepPlainCNN(nn.Module):
    """`depth` 3x3 convolutions (no batch norm), each followed by `activation`.

    The convolutions are split evenly over three stages of width w, 2w, 4w;
    the first of stages two and three has stride 2. Weights start from the
    usual initialization for each activation: He (Kaiming) for ReLU, Glorot
    (Xavier) for tanh, whose derivation assumes a slope of 1 at zero, and
    Glorot with PyTorch's gain of 1 for sigmoid, which does nothing for
    sigmoid's largest slope of 0.25 (Glorot and Bengio 2010, Sec. 4.2).
    """

    def __init__(self, depth=12, activation="relu", width=16, num_classes=10):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
        if depth < 3:
            raise ValueError(f"depth must be at least 3 (one convolution per stage), got {depth}")
        per_stage = [depth // 3 + (1 if i < depth % 3 else 0) for i in range(3)]
        layers, c_in = [], 3
        for stage, count in enumerate(per_stage):
            c_out = width * 2**stage
            for i in range(count):
                stride = 2 if stage > 0 and i == 0 else 1
                layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), ACTIVATIONS[activation]()]
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)
        self.activation = activation
        if activation == "relu":
            he_initialize(self.features, mode="fan_in")
        else:
            glorot_initialize(self.features, activation)
        initialize_classifier(self.classifier)  # every variant starts at the same loss, log(10)

    def conv_layers(self):
        """The convolutions in order from input to output (for per-layer gradient norms)."""
        return [m for m in self.features if isinstance(m, nn.Conv2d)]

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


@register
def cifar_deep_plain(depth=12, activation="relu", width=16, num_classes=10):
    return DeepPlainCNN(depth=depth, activation=activation, width=width, num_classes=num_classes)
