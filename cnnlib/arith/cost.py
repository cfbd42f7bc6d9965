"""Parameters and multiply-adds, by formula and per layer of a module.

One multiply-add is one unit here, not two FLOPs. As in torchinfo, a
convolution costs one multiply-add per weight per output position, plus one
add per output element for its bias; a linear layer in*out + out per output
row. conv_multiply_adds leaves the bias out by default: the textbook
k*k*C_in*C_out*H*W. Batch norm: one multiply-add per element (y = a*x + b once
the statistics are folded in), where torchinfo counts 2*C; layers without
parameters (ReLU, pooling): 0, as in torchinfo.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn

from ..table import Table
from ..modules import device_of, dtype_of, in_mode, forward


def count_parameters(module, recurse=True):
    """The number of parameters of a module (a parameter shared by two layers counts once);
    recurse=False counts only those the module holds itself, not its submodules'."""
    return sum(p.numel() for p in module.parameters(recurse=recurse))


def conv_parameters(kernel, c_in, c_out, groups=1, bias=True):
    """k_h*k_w*C_in*C_out/groups weights, plus C_out biases."""
    window = math.prod(kernel) if isinstance(kernel, (tuple, list)) else kernel * kernel
    return window * (c_in // groups) * c_out + (c_out if bias else 0)


def conv_multiply_adds(kernel, c_in, c_out, h_out, w_out, groups=1, bias=False):
    """k_h*k_w*C_in/groups multiply-adds for each of the C_out*H_out*W_out outputs (+1 each for a bias)."""
    return conv_parameters(kernel, c_in, c_out, groups, bias) * h_out * w_out


def _layer_cost(module, output):
    """(parameters, multiply-adds) of one leaf module, from its output (batch 1)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        parameters = conv_parameters(module.kernel_size, module.in_channels, module.out_channels, module.groups,
                                 module.bias is not None)
        return parameters, parameters * math.prod(output.shape[2:])
    if isinstance(module, nn.Linear):
        parameters = module.in_features * module.out_features + (module.out_features if module.bias is not None else 0)
        return parameters, parameters * (output.numel() // module.out_features)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return (2 * module.num_features if module.affine else 0), output.numel()
    return count_parameters(module, recurse=False), 0


@dataclass
class ParameterRow:
    name: str
    type: str
    output_shape: Optional[tuple]
    parameters: int
    multiply_adds: int


@dataclass
class ParameterTable:
    """Per leaf layer: name, type, output shape (no batch), parameters, multiply-adds."""
    rows: list

    total_parameters = property(lambda self: sum(row.parameters for row in self.rows))
    total_multiply_adds = property(lambda self: sum(row.multiply_adds for row in self.rows))

    def table(self):
        body = [[r.name, r.type, "x".join(map(str, r.output_shape)) if r.output_shape else None, r.parameters,
                 r.multiply_adds] for r in self.rows]
        body.append(["total", "", "", self.total_parameters, self.total_multiply_adds])
        return Table(["layer", "type", "output", "parameters", "mult-adds"], body)

    def __str__(self):
        return str(self.table())

    def _repr_html_(self):
        return self.table().html()


def parameter_table(model, input_size=(3, 224, 224)):
    """Parameters and multiply-adds of every leaf layer of model for one input of input_size.

    A module called twice counts its parameters once and its multiply-adds twice;
    layers never called and parameters held by containers get rows of their own,
    so total_parameters equals count_parameters(model).
    """
    rows, counted = [], set()

    def record(module, inputs, output, name):
        output = output[0] if isinstance(output, (tuple, list)) else output
        parameters, multiply_adds = _layer_cost(module, output)
        rows.append(ParameterRow(name, type(module).__name__, tuple(output.shape[1:]),
                                 0 if module in counted else parameters, multiply_adds))
        counted.add(module)

    modules = dict(model.named_modules())
    leaves = {name: m for name, m in modules.items() if not any(True for _ in m.children())}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: record(m, i, o, name)) for name, m in leaves.items()]
    try:
        with in_mode(model), torch.no_grad():
            try:
                forward(model, torch.zeros(1, *input_size, device="meta", dtype=dtype_of(model)))
            except (NotImplementedError, RuntimeError):
                rows.clear(), counted.clear()
                model(torch.zeros(1, *input_size, device=device_of(model), dtype=dtype_of(model)))
    finally:
        for h in hooks:
            h.remove()
    for name, m in modules.items():
        own = count_parameters(m, recurse=False)
        if own and m not in counted:
            rows.append(ParameterRow(name + (" (not called)" if name in leaves else " (own)"),
                                     type(m).__name__, None, own, 0))
    return ParameterTable(rows)
