"""Measurements taken inside a network: gradient norms per layer, dead ReLU units,
activation memory.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def layer_gradient_norms(model, images, labels, layers=None):
    """The L2 norm of the loss gradient with respect to each layer's weight.

    layers: the modules to report, input side first (default: every Conv2d
    and Linear in registration order). The model's own gradients are left as
    they were.
    """
    if layers is None:
        layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    weights = [layer.weight for layer in layers]
    was_training = model.training
    model.eval()  # measure the network as it is, without dropout noise
    loss = F.cross_entropy(model(images), labels)
    grads = torch.autograd.grad(loss, weights)
    model.train(was_training)
    return [g.norm().item() for g in grads]


@torch.no_grad()
def dead_relu_fraction(model, images):
    """For each ReLU module: the fraction of its channels that output zero at
    every position of every image in `images` (units that pass no gradient)."""
    fractions = []

    def record(module, inputs, output):
        alive = (output > 0).flatten(2).any(2).any(0) if output.dim() == 4 else (output > 0).any(0)
        fractions.append(1 - alive.float().mean().item())

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.ReLU)]
    was_training = model.training
    model.eval()
    try:
        model(images)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return fractions


def activation_memory(model, images, layer_types=(nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Linear)):
    """Bytes of the outputs of all layers of `layer_types` in one forward pass:
    roughly what training must keep for the backward pass."""
    total = 0

    def record(module, inputs, output):
        nonlocal total
        total += output.numel() * output.element_size()

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, layer_types)]
    try:
        with torch.no_grad():
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
    return total
