"""Weight initialization: one place for the rules every model family uses.

    he_initialize(model, mode)             ReLU networks (He et al. 2015): normal weights
                                           of variance 2 / fan, zero biases, batch norm
                                           starting as the identity
    glorot_initialize(model, activation)   sigmoid and tanh networks (Glorot & Bengio 2010)
    initialize_classifier(linear)          the last layer: small weights, so every class
                                           score starts near 0 and the loss near log(classes)

mode is the fan He's variance divides by: "fan_in" keeps the forward signal's
scale (the paper's choice), "fan_out" the backward gradient's (torchvision's
choice for ResNet, GoogLeNet and VGG convolutions). The two differ only where a
layer changes the number of channels.
"""
import torch.nn as nn

CONVOLUTIONS = (nn.Conv2d,)


def he_initialize(model, mode="fan_in", layers=CONVOLUTIONS):
    """He normal weights and zero biases for every module of the types `layers`;
    batch norm starts as the identity. Modules are visited in model.modules() order."""
    for m in model.modules():
        if isinstance(m, layers):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def glorot_initialize(model, activation, layers=CONVOLUTIONS):
    """Glorot (Xavier) normal weights, scaled by the gain of `activation` ("sigmoid",
    "tanh", ...), and zero biases for every module of the types `layers`."""
    gain = nn.init.calculate_gain(activation)
    for m in model.modules():
        if isinstance(m, layers):
            nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def initialize_classifier(linear, std=0.01):
    """Normal weights of standard deviation `std` and a zero bias for the last layer."""
    nn.init.normal_(linear.weight, std=std)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
