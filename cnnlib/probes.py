"""Measurements taken inside a network: gradients per layer, dead ReLU units,
what layers receive and return, and the memory training keeps for backward.

Every probe leaves the model as it found it: its mode restored, its hooks
removed, its own gradients untouched.
"""
import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from .modules import in_mode


@contextlib.contextmanager
def _forward_hooks(modules, hook):
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def weighted_layers(model):
    """Every Conv2d and Linear of `model`, input side first (registration order)."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def layer_gradient_norms(model, images, labels, layers=None):
    """The L2 norm of the loss gradient with respect to each layer's weight.

    layers: the modules to report, input side first (default: every Conv2d and Linear).
    Layers of different shapes have weights of different sizes, so compare
    these norms across training time, not across layers (for that, see
    preactivation_gradient_rms).
    """
    layers = weighted_layers(model) if layers is None else layers
    with in_mode(model, False):  # measure the network as it is, without dropout noise
        loss = F.cross_entropy(model(images), labels)
        grads = torch.autograd.grad(loss, [layer.weight for layer in layers])
    return [g.norm().item() for g in grads]


def preactivation_gradient_rms(model, images, labels, layers=None):
    """For each layer, the root mean square of the loss gradient with respect to
    that layer's output (the pre-activation, in a network without batch norm):
    one number per unit, averaged, so layers of any shape compare.

    layers: the modules whose outputs are measured, input side first (default:
    every Conv2d and Linear). The loss is the batch's mean cross-entropy.
    """
    layers = weighted_layers(model) if layers is None else layers
    outputs = {}

    def keep(module, inputs, output):
        outputs[module] = output

    with in_mode(model, False), _forward_hooks(layers, keep):
        loss = F.cross_entropy(model(images), labels)
        grads = torch.autograd.grad(loss, [outputs[layer] for layer in layers])
    return [g.pow(2).mean().sqrt().item() for g in grads]


@torch.no_grad()
def dead_relu_fraction(model, images):
    """For each ReLU module: the fraction of its channels that output zero at
    every position of every image in `images` (units that pass no gradient)."""
    fractions = []

    def record(module, inputs, output):
        alive = (output > 0).flatten(2).any(2).any(0) if output.dim() == 4 else (output > 0).any(0)
        fractions.append(1 - alive.float().mean().item())

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    with in_mode(model, False), _forward_hooks(relus, record):
        model(images)
    return fractions


@torch.no_grad()
def inputs_and_outputs(model, images, module_type):
    """Run `model` on `images` in eval mode; return, for every module of
    `module_type` in the order they ran, (the tensor it received, what it returned)."""
    seen = []

    def record(module, inputs, output):
        seen.append((inputs[0], output))

    modules = [m for m in model.modules() if isinstance(m, module_type)]
    with in_mode(model, False), _forward_hooks(modules, record):
        model(images)
    return seen


def activation_memory(model, images, layer_types=(nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Linear)):
    """Bytes of the outputs of all layers of `layer_types` in one forward pass:
    a rough estimate of what training keeps for the backward pass (see
    saved_for_backward for the exact amount)."""
    total = 0

    def record(module, inputs, output):
        nonlocal total
        total += output.numel() * output.element_size()

    modules = [m for m in model.modules() if isinstance(m, layer_types)]
    with torch.no_grad(), _forward_hooks(modules, record):
        model(images)
    return total


def saved_for_backward(model, images):
    """Bytes autograd keeps for the backward pass during one training-mode
    forward of model(images): each storage once, the parameters left out.

    Whole storages are counted, because a saved view keeps its whole storage
    alive: `images[:1]` of a larger batch counts the batch (pass
    `images[:1].clone()` to measure one image).
    """
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    buffers = {name: b.clone() for name, b in model.named_buffers()}  # batch norm's running statistics
    with in_mode(model, True), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(images)
    with torch.no_grad():
        for name, b in model.named_buffers():
            b.copy_(buffers[name])
    return sum(storages.values())
