"""cnnlib.models.init: the variances the papers give, and every model family using it."""
import math

import pytest
import torch
import torch.nn as nn

from cnnlib import models
from cnnlib.models import init


def std(t):
    return t.double().std().item()


@pytest.mark.parametrize("mode, fan", [("fan_in", 64 * 9), ("fan_out", 256 * 9)])
def test_he_initialize_has_variance_two_over_the_fan(mode, fan):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(64, 256, 3), nn.BatchNorm2d(256), nn.Linear(10, 10))
    linear_before = model[2].weight.clone()
    with torch.no_grad():
        model[1].weight.fill_(3.0), model[1].bias.fill_(2.0)
    init.he_initialize(model, mode=mode)
    assert std(model[0].weight) == pytest.approx(math.sqrt(2 / fan), rel=0.02)
    assert torch.count_nonzero(model[0].bias) == 0
    assert torch.all(model[1].weight == 1) and torch.all(model[1].bias == 0)  # batch norm: the identity
    assert torch.equal(model[2].weight, linear_before)  # only the layer types asked for
    init.he_initialize(model, mode="fan_in", layers=(nn.Linear,))
    assert torch.count_nonzero(model[2].bias) == 0 and not torch.equal(model[2].weight, linear_before)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_glorot_initialize_scales_by_the_activations_gain(activation):
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 128, 3)
    init.glorot_initialize(conv, activation)
    expected = nn.init.calculate_gain(activation) * math.sqrt(2 / (64 * 9 + 128 * 9))
    assert std(conv.weight) == pytest.approx(expected, rel=0.02)
    assert torch.count_nonzero(conv.bias) == 0


def test_initialize_classifier_starts_every_score_near_zero():
    torch.manual_seed(0)
    linear = nn.Linear(512, 1000)
    init.initialize_classifier(linear)
    assert std(linear.weight) == pytest.approx(0.01, rel=0.02) and torch.count_nonzero(linear.bias) == 0


def fan_in_std(conv):
    return math.sqrt(2 / (conv.in_channels // conv.groups * math.prod(conv.kernel_size)))


def fan_out_std(conv):
    return math.sqrt(2 / (conv.out_channels // conv.groups * math.prod(conv.kernel_size)))


@pytest.mark.parametrize("name, options, expected_std", [
    ("cifar_alexnet", {"width": 32}, fan_in_std),
    ("cifar_vgg11", {"width": 32}, fan_out_std),
    ("cifar_deep_plain", {"depth": 6, "activation": "relu"}, fan_in_std),
    ("cifar_resnet20", {"width": 32}, fan_out_std),
    ("cifar_googlenet", {"width": 48}, fan_out_std),
    ("cifar_densenet_bc", {"depth": 22, "growth_rate": 12}, fan_in_std),
])
def test_every_family_starts_from_he_initialization(name, options, expected_std):
    torch.manual_seed(0)
    model = models.create(name, **options)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight.numel() >= 4096]
    assert convs
    for conv in convs:
        assert std(conv.weight) == pytest.approx(expected_std(conv), rel=0.1), conv
        assert conv.bias is None or torch.count_nonzero(conv.bias) == 0


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_deep_plain_cnn_uses_glorot_for_saturating_activations(activation):
    torch.manual_seed(0)
    model = models.create("cifar_deep_plain", depth=6, activation=activation, width=32)
    conv = model.conv_layers()[-1]
    expected = nn.init.calculate_gain(activation) * math.sqrt(2 / 9 / (conv.in_channels + conv.out_channels))
    assert std(conv.weight) == pytest.approx(expected, rel=0.1)
    assert std(model.classifier.weight) == pytest.approx(0.01, rel=0.2)
