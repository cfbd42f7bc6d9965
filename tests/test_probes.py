import torch
import torch.nn as nn

from cnnlib import models, probes


def test_gradient_norms_match_autograd():
    torch.manual_seed(0)
    model = models.create("cifar_deep_plain", depth=4, activation="tanh", width=4)
    images, labels = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    norms = probes.layer_gradient_norms(model, images, labels, model.conv_layers())
    model.zero_grad()
    nn.functional.cross_entropy(model(images), labels).backward()
    expected = [m.weight.grad.norm().item() for m in model.conv_layers()]
    assert len(norms) == 4
    assert all(abs(a - b) < 1e-6 * max(1, b) for a, b in zip(norms, expected))


def test_sigmoid_gradients_vanish_more_than_relu():
    images, labels = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    ratio = {}
    for activation in ("sigmoid", "relu"):
        torch.manual_seed(0)
        model = models.create("cifar_deep_plain", depth=9, activation=activation, width=4)
        norms = probes.layer_gradient_norms(model, images, labels, model.conv_layers())
        ratio[activation] = norms[0] / norms[-1]
    assert ratio["sigmoid"] < 1e-3 * ratio["relu"]


def test_dead_relu_fraction_counts_silent_channels():
    conv = nn.Conv2d(1, 4, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0, 0.0, 2.0]).view(4, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, 0.0, -1.0, 0.0]))
    model = nn.Sequential(conv, nn.ReLU())
    images = torch.rand(5, 1, 3, 3) + 0.1  # positive inputs: channel 1 and 2 never fire
    assert probes.dead_relu_fraction(model, images) == [0.5]


def test_activation_memory_adds_output_bytes():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    images = torch.zeros(2, 3, 16, 16)
    assert probes.activation_memory(model, images) == 2 * (2 * 8 * 16 * 16 * 4)
