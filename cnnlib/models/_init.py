"""Weight initialization shared by the networks that use batch norm after every convolution."""
import torch.nn as nn


def he_initialize(model):
    """He (Kaiming) initialization for convolutions (fan_out, as torchvision does);
    batch norm starts as the identity."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
