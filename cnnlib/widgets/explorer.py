"""ReceptiveFieldExplorer: the ipywidgets controller. It reads its controls, calls the
pure functions (parse_layers, explore, effective_field, render, table_html) and shows
what they return; a bad setting becomes a message in the widget, never a traceback.

Only widgets and layout traits that ipywidgets 7.7 (Colab's front end) and 8 share.
Layout: the layer controls and the position controls sit side by side and wrap
under each other in a narrow output area; the figure and the table follow, the
figure scaled down to the width it gets.
"""
import html
import threading

from .exploration import CUSTOM, PRESETS, Exploration, TooCostly, effective_field, explore
from .layer_text import LAYER_SYNTAX, format_layers, parse_layers
from .rendering import png, render, table_html

# The table's box may be narrower than the table: it scrolls, and the summary above it wraps.
TABLE_STYLE = ("<style>.cnnlib-explorer-table .widget-html-content{min-width:0}"
               ".cnnlib-explorer-table td,.cnnlib-explorer-table th{padding:1px 8px;line-height:1.5}"
               ".cnnlib-explorer-table td:first-child,.cnnlib-explorer-table th:first-child{text-align:left}</style>")


class ReceptiveFieldExplorer:
    """The controls, the plot and the table. .widget is the box to display (or let
    the explorer show itself as a cell's last expression).

    After each change .exploration holds explore()'s result, .figure the last
    Figure, .effective_note why the effective field was not measured (None when it
    was, or was not asked for), and .last_error the exception a callback raised
    (None when all went well); such an error is shown in the widget, not raised.
    """

    def __init__(self, preset="VGG-16 (Table 1, column D)", effective=False):
        import ipywidgets as w

        self.exploration = self.figure = self.effective_note = self.last_error = None
        self._lock = threading.RLock()
        self._updating = None  # the thread running an update: the changes it makes are not new input
        compact = {"description_width": "initial"}
        self.preset = w.Dropdown(options=[*PRESETS, CUSTOM], value=preset, description="preset", style=compact,
                                 layout=w.Layout(width="100%"))
        self.text = w.Textarea(value=format_layers(PRESETS[preset][0]), continuous_update=False,
                               layout=w.Layout(width="100%", height="220px"))
        help_text = html.escape(LAYER_SYNTAX).replace("\n", "<br>")
        self.help = w.HTML(f"<div style='font-size:11px;line-height:1.35;white-space:normal'>{help_text}</div>",
                           layout=w.Layout(width="100%"))
        self.input_size = w.IntSlider(value=PRESETS[preset][1], min=1, max=512, description="input px",
                                      continuous_update=False)
        self.row = w.IntSlider(value=0, min=0, max=0, description="output row", continuous_update=False)
        self.column = w.IntSlider(value=0, min=0, max=0, description="output col", continuous_update=False)
        self.effective = w.Checkbox(value=effective, description="effective field (gradient heatmap)",
                                    indent=False)
        self.plot = w.Image(format="png", layout=w.Layout(max_width="100%", height="auto", align_self="flex-start"))
        self.table = w.HTML(layout=w.Layout(width="100%", max_height="320px", overflow="auto"))
        self.table.add_class("cnnlib-explorer-table")
        layers_box = w.VBox([self.preset, self.text, self.help],
                            layout=w.Layout(flex="1 1 340px", min_width="260px", max_width="560px",
                                            margin="0 24px 8px 0"))
        position_box = w.VBox([self.input_size, self.row, self.column, self.effective],
                              layout=w.Layout(flex="0 1 320px", min_width="260px"))
        controls = w.HBox([layers_box, position_box], layout=w.Layout(flex_flow="row wrap", width="100%"))
        self.widget = w.VBox([controls, self.plot, self.table], layout=w.Layout(width="100%"))
        self.preset.observe(self._on_preset, names="value")
        for control in (self.text, self.input_size, self.row, self.column, self.effective):
            control.observe(self._on_change, names="value")
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def snapshot_png(self):
        """The current figure as PNG bytes: a static picture of the explorer for a stored notebook."""
        return png(self.figure)

    # callbacks: each guards the whole update, so an error shows in the widget and is kept for tests
    def _on_preset(self, change):
        if self._updating != threading.get_ident() and change["new"] != CUSTOM:
            self._guarded(self._load_preset, change["new"])

    def _on_change(self, change):
        if self._updating != threading.get_ident():
            self._guarded(self._refresh)

    def _guarded(self, action, *args):
        # ipykernel 7 may deliver a change on another thread while an update runs: it waits, then applies
        with self._lock:
            self._updating = threading.get_ident()
            try:
                action(*args)
                self.last_error = None
            except Exception as error:  # shown, not raised: a widget callback has nowhere to raise to
                self.last_error = error
                self.table.value = (f"<p style='color:#c33'>Internal error in the explorer: "
                                    f"{html.escape(type(error).__name__)}: {html.escape(str(error)[:400])}</p>")
            finally:
                self._updating = None

    def update(self):
        """Recompute from the controls' current values and redraw."""
        self._guarded(self._refresh)

    def _load_preset(self, name):
        layers, size = PRESETS[name]
        self.text.value, self.input_size.value = format_layers(layers), size
        self.row.value = self.column.value = 0
        self._refresh()

    def _refresh(self):
        try:
            layers = parse_layers(self.text.value)
        except ValueError as error:
            self._show(Exploration((), self.input_size.value, (self.row.value, self.column.value),
                                   message=f"Cannot read the layers: {error}"))
            return
        self._mark_custom(layers)
        exploration = explore(layers, self.input_size.value, (0, 0))
        if exploration.ok:  # the sliders follow the output map before the position is used
            last = exploration.map_size - 1
            for slider in (self.row, self.column):
                slider.max = max(last, slider.min)  # ipywidgets clamps the value to the new range
                slider.value = min(slider.value, last)
            exploration = explore(layers, self.input_size.value, (self.row.value, self.column.value))
        self._show(exploration)

    def _mark_custom(self, layers):
        preset = PRESETS.get(self.preset.value)
        if preset is None or format_layers(preset[0]) != format_layers(layers):
            self.preset.value = CUSTOM

    def _show(self, exploration):
        self.exploration, erf, self.effective_note = exploration, None, None
        for slider in (self.row, self.column):
            slider.disabled = not exploration.ok
        if exploration.ok and self.effective.value:
            try:
                erf = effective_field(exploration.layers, exploration.input_size, exploration.position)
            except TooCostly as refusal:
                self.effective_note = str(refusal)
        self.figure = render(exploration, erf=erf, note=self.effective_note)
        self.table.value = TABLE_STYLE + table_html(exploration, self.effective_note)
        self.plot.value = png(self.figure)
