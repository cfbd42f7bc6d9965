"""cnnlib.table.Table (viz.Table): the course's one table renderer. Notebook cells compare
its text with nbval, so its text and HTML forms are pinned here character for character."""
import torch.nn as nn

from cnnlib import arith, viz, widgets
from cnnlib.table import Table


def example():
    return Table(["layer", "params", "share", "note"], [["conv1", 1792, 0.0123456, None], ["fc", 4096000, 1.0, "big"]],
                 formats={"share": ".1%"}, title="Example")


def test_text_form_is_stable():
    assert str(example()) == "\n".join([
        "Example",
        "layer     params   share  note",
        "-----  ---------  ------  ----",
        "conv1      1,792    1.2%     -",
        "fc     4,096,000  100.0%   big",
    ])
    assert str(Table(["a", "b"], [])) == "a  b\n-  -"


def test_html_form_is_stable_and_escaped():
    table = Table(["a<b", "n"], [["x & y", 3.14159]])
    assert table.html() == table._repr_html_() == (
        "<table><thead><tr><th>a&lt;b</th><th>n</th></tr></thead>"
        "<tbody><tr><td>x &amp; y</td><td>3.142</td></tr></tbody></table>")
    assert example().html().startswith("<table><caption>Example</caption>")


def test_one_renderer_for_viz_arith_and_the_explorer():
    assert viz.Table is Table
    assert isinstance(arith.receptive_field([arith.conv(3)], 8).table(), Table)
    assert isinstance(arith.parameter_table(nn.Conv2d(3, 4, 3), (3, 8, 8)).table(), Table)
    exploration = widgets.explore(widgets.parse_layers("conv 3 c8\npool 2"), 16, (1, 1))
    table = widgets.exploration_table(exploration)
    assert isinstance(table, Table) and table.html() in widgets.table_html(exploration)


def test_markdown_right_aligns_numbers_and_escapes_pipes():
    table = Table(["name", "a|b", "count"], [["x", "p|q", 1200], ["y", None, 3.5]], formats={"count": ",.1f"})
    assert table.markdown() == ("| name | a\\|b | count |\n|---|---|---:|\n"
                                "| x | p\\|q | 1,200.0 |\n| y | - | 3.5 |\n")
