"""The arithmetic of convolutional networks, by formula.

    from cnnlib import arith
    arith.output_size(224, kernel=3, padding=1)            sizes: one axis of a convolution or pooling
    arith.receptive_field(layers_or_module, 224)           fields, receptive, tracing: Distill's recurrences
    arith.parameter_table(model, (3, 224, 224))            cost: parameters and multiply-adds per layer
    arith.count_parameters(model)                          cost: the one parameter counter
    arith.effective_receptive_field(model, (3, 32, 32))    effective: where the gradient lands
    arith.conv(3, padding=1), arith.pool(2), arith.fc(...) layers: a network written by hand
    arith.vgg_stack(16), arith.alexnet_stack()             presets: the course's models as layer specs

The words, everywhere: a feature map's `map_size` (units along an axis); a
unit's `field_size` (input pixels it sees: the receptive field); the `jump`
(input pixels between neighbouring units: the effective stride); the
`effective_padding` (unit 0's field starts at input pixel -effective_padding);
`parameters` and `multiply_adds` for the cost.
"""
from .cost import ParameterRow, ParameterTable, conv_multiply_adds, conv_parameters, count_parameters, parameter_table
from .effective import effective_receptive_field
from .fields import Field, ReceptiveField, Row
from .layers import Layer, conv, fc, pool
from .presets import alexnet_stack, dilated_stack, layers_of, vgg_stack
from .receptive import receptive_field
from .sizes import output_size
from .tracing import TracingError

__all__ = [
    "output_size", "Layer", "conv", "pool", "fc", "layers_of", "vgg_stack", "alexnet_stack", "dilated_stack",
    "Field", "Row", "ReceptiveField", "receptive_field", "TracingError",
    "count_parameters", "conv_parameters", "conv_multiply_adds", "ParameterRow", "ParameterTable",
    "parameter_table", "effective_receptive_field",
]
