import pytest
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


def test_preactivation_rms_is_the_gradient_per_unit_at_each_layers_output():
    torch.manual_seed(0)
    model = models.create("cifar_deep_plain", depth=4, activation="tanh", width=4)
    images, labels = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    rms = probes.preactivation_gradient_rms(model, images, labels, model.conv_layers())
    outputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o)) for m in model.conv_layers()]
    loss = nn.functional.cross_entropy(model.eval()(images), labels)
    grads = torch.autograd.grad(loss, outputs)
    for h in hooks:
        h.remove()
    expected = [(g ** 2).mean().sqrt().item() for g in grads]
    assert rms == pytest.approx(expected, rel=1e-6)


def test_probes_leave_the_model_as_they_found_it():
    torch.manual_seed(0)
    model = models.create("cifar_baseline", width=4).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    images, labels = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    probes.preactivation_gradient_rms(model, images, labels)
    probes.dead_relu_fraction(model, images)
    probes.inputs_and_outputs(model, images, nn.Conv2d)
    probes.saved_for_backward(model, images)  # runs in training mode: batch norm statistics must be restored
    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert not model._forward_hooks and all(not m._forward_hooks for m in model.modules())


def test_inputs_and_outputs_in_order():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 2, 1))
    seen = probes.inputs_and_outputs(model, torch.randn(1, 3, 5, 5), nn.Conv2d)
    assert [tuple(i.shape) for i, _ in seen] == [(1, 3, 5, 5), (1, 4, 5, 5)]
    assert [tuple(o.shape) for _, o in seen] == [(1, 4, 5, 5), (1, 2, 5, 5)]


def test_saved_for_backward_counts_each_saved_storage_once():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    images = torch.randn(2, 3, 16, 16)
    saved = probes.saved_for_backward(model, images)
    # conv1 saves its input; ReLU saves its output, which conv2 saves as its input (one storage)
    assert saved == (2 * 3 * 16 * 16 + 2 * 8 * 16 * 16) * 4
