"""The receptive-field explorer, driven the way a learner drives it: set a
control, then read the table, the message, the box and the figure. Every test
also checks that the callbacks raised nothing (the explorer keeps the last
exception instead of raising it, so nbval alone would never see one)."""
import matplotlib

matplotlib.use("Agg")

import html
import threading

import pytest
import torch
import torchvision
from matplotlib.figure import Figure

from cnnlib import arith, widgets
from cnnlib.widgets import CUSTOM, PRESETS, ReceptiveFieldExplorer

VGG16 = "VGG-16 (Table 1, column D)"
DILATED = "dilated 3x3 stack (dilations 1, 2, 4, 8)"


@pytest.fixture
def explorer():
    e = ReceptiveFieldExplorer(VGG16)
    assert e.last_error is None
    return e


def assert_labelled(fig):
    assert isinstance(fig, Figure)
    assert fig._suptitle is not None and fig._suptitle.get_text()
    for ax in fig.axes:
        if ax.axison:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


# Layers as text

@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_reads_back_from_its_text(name):
    layers, _ = PRESETS[name]
    assert widgets.parse_layers(widgets.format_layers(layers)) == list(layers)


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_output_size_matches_pytorch(name):
    layers, size = PRESETS[name]
    exploration = widgets.explore(layers, size)
    out = widgets.build_network(layers, channels=1)(torch.zeros(1, 3, size, size))
    assert exploration.ok and exploration.map_size == out.shape[-1] == out.shape[-2]


def test_parse_reads_defaults_and_reports_the_line_of_a_mistake():
    layers = widgets.parse_layers("input c16\n# a comment\nc1: conv 3 p1 c32\npool 3 s2 ceil\navgpool 2")
    assert layers == [arith.conv(3, padding=1, in_channels=16, out_channels=32, name="c1"),
                      arith.pool(3, 2, ceil_mode=True), arith.pool(2, kind="avg")]
    assert widgets.parse_layers("conv 5\nconv 3 c8")[1].in_channels == 3  # the image's channels, passed on
    for text, words in [("conv 3\nconvolution 3", "line 2"), ("conv", "kernel size"), ("conv 3 q1", "'q1'"),
                        ("pool 2 c4", "keeps its channels"), ("pool 3 p2", "half"), ("", "no layers"),
                        ("conv 3\ninput c3", "first line"), ("conv 0", "at least 1")]:
        with pytest.raises(ValueError, match=words):
            widgets.parse_layers(text)


# The pure functions

def test_explore_vgg16_matches_distill_and_torchvision():
    layers, _ = PRESETS[VGG16]
    exploration = widgets.explore(layers, 224, (0, 0))
    assert exploration.ok and exploration.message is None
    assert (exploration.field_size, exploration.jump, exploration.map_size) == (212, 32, 7)  # Distill's table
    assert [row.name for row in exploration.rows][-1] == "pool5" and len(exploration.rows) == 18
    assert exploration.box == arith.receptive_field(layers, 224).box(0, 0)
    features = torchvision.models.vgg16(init_weights=False).features
    assert exploration.total_parameters == sum(p.numel() for p in features.parameters())
    assert exploration.rows[-1].map_size == features(torch.zeros(1, 3, 224, 224)).shape[-1]


def test_explore_gives_messages_not_exceptions():
    layers, _ = PRESETS[VGG16]
    too_small = widgets.explore(layers, 16)
    assert not too_small.ok and "pool5" in too_small.message and "1x1" in too_small.message
    assert [row.name for row in too_small.rows][-1] == "conv5_3"  # the layers that still fit
    assert "outside" in widgets.explore(layers, 224, (7, 0)).message
    assert "at least 1" in widgets.explore(layers, 0).message
    assert widgets.explore([], 32).message


def test_effective_field_lies_inside_the_theoretical_box():
    layers = widgets.parse_layers("conv 3\npool 2\nconv 3 d2 p2\nconv 5 s2 p2")
    exploration = widgets.explore(layers, 40, (4, 7))
    erf = widgets.effective_field(layers, 40, (4, 7))
    rows, cols = torch.nonzero(erf > 0, as_tuple=True)
    (top, bottom), (left, right) = exploration.box
    assert erf.max() == 1 and len(rows) > 0
    assert top <= rows.min() and rows.max() <= bottom and left <= cols.min() and cols.max() <= right
    assert torch.equal(erf, widgets.effective_field(layers, 40, (4, 7)))  # seeded


def test_effective_field_span_holds_the_given_mass():
    erf = torch.zeros(5, 20)
    erf[:, 8:12] = 1.0
    assert widgets.effective_field_span(erf, mass=0.9) == (8, 11)
    assert widgets.effective_field_span(torch.zeros(4, 4)) is None


def test_render_labels_its_figure_with_and_without_an_effective_field():
    layers = widgets.parse_layers("conv 3 p1\nconv 3 p1\npool 2")
    exploration = widgets.explore(layers, 24, (2, 3))
    assert_labelled(widgets.render(exploration))
    assert_labelled(widgets.render(exploration, erf=widgets.effective_field(layers, 24, (2, 3))))
    assert_labelled(widgets.render(widgets.explore(layers, 1)))  # the message case


# The widget, driven through its controls

def test_vgg16_preset_at_224(explorer):
    e = explorer.exploration
    assert e.ok and e.field_size == 212 and e.jump == 32 and e.box == ((-90, 121), (-90, 121))
    assert explorer.row.max == explorer.column.max == 6
    assert "212" in explorer.table.value and "pool5" in explorer.table.value
    assert_labelled(explorer.figure)


def test_position_sliders_move_the_box_and_follow_the_output_size(explorer):
    explorer.row.value, explorer.column.value = 6, 5
    assert explorer.last_error is None
    assert explorer.exploration.box == arith.receptive_field(PRESETS[VGG16][0], 224).box(6, 5)
    explorer.input_size.value = 64  # 2x2 at pool5: the sliders shrink and the position is clamped
    assert explorer.last_error is None
    assert explorer.row.max == 1 and explorer.exploration.position == (1, 1) and explorer.exploration.ok
    explorer.input_size.value = 224
    assert explorer.row.max == 6 and explorer.exploration.map_size == 7


def test_an_output_below_one_shows_a_message(explorer):
    explorer.input_size.value = 16
    assert explorer.last_error is None
    assert not explorer.exploration.ok and "pool5" in explorer.exploration.message
    assert "pool5" in explorer.table.value and explorer.row.disabled
    explorer.input_size.value = 32  # back to a valid 1x1 output
    assert explorer.exploration.ok and explorer.exploration.map_size == 1 and not explorer.row.disabled


def test_edited_layers_and_invalid_text(explorer):
    explorer.text.value = "conv 3\nconv 3"
    assert explorer.last_error is None and explorer.preset.value == CUSTOM
    assert explorer.exploration.field_size == 5 and explorer.exploration.map_size == 220  # V-3: two 3x3 see 5x5
    explorer.text.value = "conv 3\nconv three"
    assert explorer.last_error is None
    assert "line 2" in explorer.exploration.message and "line 2" in explorer.table.value
    explorer.text.value = "conv 300"
    assert explorer.last_error is None and "does not fit" in explorer.exploration.message


def test_choosing_a_preset_loads_its_layers_and_input_size(explorer):
    explorer.preset.value = DILATED
    assert explorer.last_error is None and explorer.input_size.value == 64
    # Yu & Koltun 2016: with dilations 1, 2, 4, 8 the field after layer i is 2^(i+2) - 1
    assert [row.field_size for row in explorer.exploration.rows] == [3, 7, 15, 31]
    explorer.row.value, explorer.column.value = 10, 63
    assert explorer.exploration.box == ((-5, 25), (48, 78))  # centred on the unit, reaching past the edge


def test_effective_field_checkbox_draws_the_heatmap():
    explorer = ReceptiveFieldExplorer("one VGG stage: two 3x3 convolutions, 2x2 pool")
    images_before = len(explorer.figure.axes[0].images)
    explorer.effective.value = True
    assert explorer.last_error is None
    assert len(explorer.figure.axes[0].images) == images_before + 1
    assert "95% of the gradient" in " ".join(t.get_text() for t in explorer.figure.axes[1].get_legend().texts)


def test_a_failing_callback_is_recorded_and_shown(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(widgets.explorer, "render", broken)  # the name the controller calls
    explorer.input_size.value = 100
    assert isinstance(explorer.last_error, RuntimeError) and "boom" in explorer.table.value
    monkeypatch.undo()
    explorer.input_size.value = 101
    assert explorer.last_error is None


def test_a_change_that_arrives_on_another_thread_during_an_update_is_applied(explorer, monkeypatch):
    # ipykernel 7 may hand a control's change to another thread while the explorer is updating
    inside, release, real_render = threading.Event(), threading.Event(), widgets.explorer.render

    def render_slowly(*args, **kwargs):
        if not inside.is_set():
            inside.set()
            release.wait(30)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(widgets.explorer, "render", render_slowly)
    first = threading.Thread(target=setattr, args=(explorer.input_size, "value", 64))
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=setattr, args=(explorer.text, "value", "conv 3\nconv 3"))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # it waits for the update in progress instead of being dropped
    release.set()
    first.join(30), second.join(30)
    assert explorer.last_error is None and explorer.preset.value == CUSTOM
    assert (explorer.exploration.field_size, explorer.exploration.map_size) == (5, 60)


# Refusals: what would hang or flood the widget gives a short message instead (issue 11)

@pytest.mark.parametrize("text, reason", [("conv 301 p150", "436.4 billion multiply-adds"),
                                          ("conv 10000 p5000", "2,400 million weights")])
def test_a_costly_effective_field_is_refused_with_why_and_what_to_change(text, reason, monkeypatch):
    def never(*args):
        raise AssertionError("the stand-in network was built")

    explorer = ReceptiveFieldExplorer("one VGG stage: two 3x3 convolutions, 2x2 pool")
    explorer.input_size.value = 224
    explorer.text.value = text
    monkeypatch.setattr(widgets.exploration, "_effective_field", never)
    explorer.effective.value = True
    assert explorer.last_error is None and explorer.exploration.ok  # the theoretical box is still shown
    note = explorer.effective_note
    assert note.startswith("The effective field is not measured") and reason in note
    assert "conv (" in note and "smaller kernels, a smaller input" in note and "untick 'effective field'" in note
    assert html.escape(note) in explorer.table.value
    assert "not measured" in " ".join(t.get_text() for t in explorer.figure.axes[1].texts)
    assert len(explorer.figure.axes[0].images) == 1  # the photo, no heatmap
    monkeypatch.undo()
    explorer.text.value = "conv 3 p1\nconv 3 p1"  # back under the bound: measured again
    assert explorer.last_error is None and explorer.effective_note is None
    assert len(explorer.figure.axes[0].images) == 2


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_stays_measurable_at_the_largest_input(name):
    widgets.check_effective_field_cost(PRESETS[name][0], 512)


def test_a_pasted_page_is_refused_before_it_is_read_and_drawn_short(explorer):
    explorer.text.value = "conv 3 " * 150_000  # a one-line paste of about a million characters
    assert explorer.last_error is None and not explorer.exploration.ok
    message = explorer.exploration.message
    assert "1,050,000 characters" in message and f"at most {widgets.MAX_CHARACTERS:,}" in message
    drawn = [t.get_text() for ax in explorer.figure.axes for t in ax.texts]
    assert drawn and max(len(t) for t in drawn) <= widgets.MAX_SHOWN
    assert len(explorer.table.value) < 2000


def test_long_lines_and_too_many_layers_get_short_messages():
    with pytest.raises(ValueError, match="at most 100 layers") as refusal:
        widgets.parse_layers("conv 3 p1\n" * 101)
    with pytest.raises(ValueError, match="cannot read") as refusal:
        widgets.parse_layers("conv 3 " + "x" * 9000)
    assert len(str(refusal.value)) < 200


def test_render_and_table_cap_a_long_message():
    exploration = widgets.Exploration((), 32, (0, 0), message="word " * 20_000)
    drawn = [t.get_text() for ax in widgets.render(exploration).axes for t in ax.texts]
    assert max(len(t) for t in drawn) <= widgets.MAX_SHOWN
    assert len(widgets.table_html(exploration)) < widgets.MAX_SHOWN + 500


# What the notebook stores and how the widget is laid out

def test_snapshot_png_is_the_figure_the_widget_shows(explorer):
    png = explorer.snapshot_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and explorer.plot.value == png
    explorer.row.value = 3
    assert explorer.snapshot_png() == explorer.plot.value != png


def test_controls_wrap_instead_of_being_cut(explorer):
    controls, plot, table = explorer.widget.children
    assert controls.layout.flex_flow == "row wrap"  # side by side when there is room, else stacked
    assert all(int(box.layout.min_width.rstrip("px")) <= 280 for box in controls.children)
    assert explorer.preset.layout.width == explorer.text.layout.width == "100%"  # no fixed 380 px
    assert "white-space:normal" in explorer.help.value and "width:" not in explorer.help.value
    assert plot.layout.max_width == "100%"  # the figure shrinks to the output area
