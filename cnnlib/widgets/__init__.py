"""The receptive-field explorer: build a stack of layers, pick an output unit,
see the input pixels it depends on.

Plain ipywidgets (7.7 as in Colab, or 8) and matplotlib figures rendered to PNG,
so it runs in JupyterLab 4 and Colab without a custom widget manager:

    from cnnlib.widgets import ReceptiveFieldExplorer
    ReceptiveFieldExplorer()          # the last expression of a cell shows it

The theoretical field (Araujo et al. 2019, Distill, via cnnlib.arith) is drawn
as a box; the effective field (Luo et al. 2016: where the gradient of that
unit really lands) as a heatmap, measured on a small randomly initialized
network with the same layers. Four units, the last one thin:

    layer_text   parse_layers(text) -> [arith.Layer], format_layers(layers) -> text (LAYER_SYNTAX)
    exploration  explore(layers, input_size, position) -> Exploration (table rows, box, or a message);
                 effective_field(layers, input_size, position) -> (H, W) tensor, refused above a cost bound
    rendering    render(exploration, erf=...) -> matplotlib Figure; table_html(exploration) (a viz.Table)
    explorer     ReceptiveFieldExplorer: the controls, calling the three above
"""
from .exploration import (CUSTOM, MULTIPLY_ADD_LIMIT, PARAMETER_LIMIT, PRESETS, Exploration, TableRow, TooCostly,
                          build_network, check_effective_field_cost, effective_field, effective_field_span, explore)
from .explorer import ReceptiveFieldExplorer
from .layer_text import LAYER_SYNTAX, MAX_CHARACTERS, MAX_LAYERS, format_layers, parse_layers
from .rendering import MAX_SHOWN, exploration_table, png, render, sample_photo, table_html

__all__ = ["LAYER_SYNTAX", "MAX_CHARACTERS", "MAX_LAYERS", "parse_layers", "format_layers",
           "PRESETS", "CUSTOM", "Exploration", "TableRow", "explore", "build_network",
           "MULTIPLY_ADD_LIMIT", "PARAMETER_LIMIT", "TooCostly", "check_effective_field_cost", "effective_field",
           "effective_field_span", "MAX_SHOWN", "sample_photo", "render", "exploration_table", "table_html", "png",
           "ReceptiveFieldExplorer"]
