"""Notebook 03's receptive-field explorer in a real browser: JupyterLab 4 in
headless Chromium (the distribution's package, driven by Playwright).

A learner meets the explorer in JupyterLab, not in a kernel. This test serves a
copy of notebook 03 from a temporary folder, runs the explorer's cell alone (found
by its source), and checks that
- the widget renders: no "Error displaying widget", no text repr, no traceback;
- it fits a 1280-px window: "[pPADDING]" in the help text and the preset
  dropdown are not cut by the window or by a box of the output;
- the table follows the preset dropdown, the input-size slider and the layer
  text (VGG-16 212 px, AlexNet 195 px, two 3x3 convolutions 5 px);
- the browser console shows no error but unreachable badge images.
Screenshots of the explorer before and after go to $CNNLIB_SCREENSHOTS (else a
new temporary folder), printed at the end of the run; on a failure, the page too.

Needs /usr/bin/chromium (Debian: `apt-get install chromium`; another path via
$CNNLIB_CHROMIUM), and the `playwright` and `jupyterlab` packages (the test
extra); without them it skips. Deselect it with `pytest -m "not browser"`.
"""
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import lab_browser  # noqa: E402  (scripts/lab_browser.py: JupyterLab in a headless Chromium)
from lab_browser import CHROMIUM, CHROMIUM_ARGS, STARTUP_SECONDS, VIEWPORT, Console  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "03_vgg.ipynb"
EXPLORER_CALL = "ReceptiveFieldExplorer("
UPDATE_SECONDS = 60   # one change of a control until the explorer's table shows it (a loaded machine is slow)

pytestmark = pytest.mark.browser

_REASON = lab_browser.missing()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (after the skip: it may be absent)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of notebook 03, so nothing it writes
    (checkpoints, the notebook itself) lands in the checkout."""
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    with lab_browser.jupyterlab(root, tmp_path_factory.mktemp("lab-home")) as url:
        yield url


def _explorer_cell_index():
    return lab_browser.code_cell_index(NOTEBOOK, EXPLORER_CALL)


def _wait_until(condition, seconds, what):
    try:
        lab_browser.wait_until(condition, seconds, what)
    except lab_browser.BrowserError as error:
        pytest.fail(str(error))


# A box is cut when the window's width or a box of the cell's output that clips
# (overflow other than visible: hidden, or a scroll bar to reach the rest) does
# not show all of it. Returns the pieces of `text` (of the whole element when
# text is null) that are not fully visible, described as strings.
_CLIPPED_JS = """(element, text) => {
    const rects = [];
    if (text === null) {
        rects.push(element.getBoundingClientRect());
    } else {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        let node, found = false;
        while (!found && (node = walker.nextNode())) {
            const at = node.textContent.indexOf(text);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + text.length);
            for (const r of range.getClientRects()) rects.push(r);
            found = true;
        }
        if (!found) return [`the text ${text} is not in the element`];
    }
    let clip = {left: 0, top: -Infinity, right: window.innerWidth, bottom: Infinity};
    for (let box = element.parentElement; box && !box.classList.contains('jp-Cell'); box = box.parentElement) {
        const style = getComputedStyle(box);
        if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
        const r = box.getBoundingClientRect();
        clip = {left: Math.max(clip.left, r.left), top: Math.max(clip.top, r.top),
                right: Math.min(clip.right, r.right), bottom: Math.min(clip.bottom, r.bottom)};
    }
    const cut = [];
    for (const r of rects) {
        if (r.width < 1 || r.left < clip.left - 1 || r.right > clip.right + 1 ||
            r.top < clip.top - 1 || r.bottom > clip.bottom + 1) {
            cut.push(`box ${Math.round(r.left)}..${Math.round(r.right)} x ${Math.round(r.top)}..` +
                     `${Math.round(r.bottom)} px, visible area ${Math.round(clip.left)}..` +
                     `${Math.round(clip.right)} x ${clip.top}..${clip.bottom} px`);
        }
    }
    return cut;
}"""

# How much wider than the select box its chosen option's text is (px; <= 0: it fits),
# with room for the box's padding and its arrow.
_SELECT_OVERFLOW_JS = """select => {
    const style = getComputedStyle(select);
    const context = document.createElement('canvas').getContext('2d');
    context.font = style.font;
    const text = select.options[select.selectedIndex].text;
    const needed = context.measureText(text).width + parseFloat(style.paddingLeft) +
                   parseFloat(style.paddingRight) + 16;
    return needed - select.clientWidth;
}"""


def _not_a_widget(text):
    """What the page shows instead of the widget, or ''."""
    if "Error displaying widget" in text:
        return f"JupyterLab could not display the widget: {text[:1000]}"
    for repr_start in ("HBox(children=", "VBox(children="):
        if repr_start in text:
            return f"the explorer shows as text, not as a widget: {text[:500]}"
    return ""


_TABLE_JS = """table => [...table.querySelectorAll('tr')].map(
    row => [...row.querySelectorAll('th,td')].map(cell => cell.textContent.trim()))"""


def _final_field(table):
    """The receptive field of the last layer, as the explorer's table shows it."""
    rows = table.locator("table").evaluate(_TABLE_JS)
    header = rows[0]
    column = next(i for i, name in enumerate(header) if name.startswith("field"))
    fields = [row[column] for row in rows[1:] if len(row) > column and row[column] not in ("", "-")]
    return fields[-1]


def _control(output, kind, label):
    """An ipywidgets control of this kind (e.g. 'dropdown', 'slider') by its description."""
    return output.locator(f".widget-{kind}").filter(has=output.page.locator(".widget-label", has_text=label))


def test_explorer_renders_and_follows_its_controls_in_jupyterlab(lab, screenshots_dir):
    index = _explorer_cell_index()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(STARTUP_SECONDS * 1000)
            console = Console(page, lab)
            try:
                _drive_the_explorer(page, lab, index, screenshots_dir)
            except BaseException:
                page.screenshot(path=str(screenshots_dir / "failure-page.png"))
                raise
            unexpected = console.unexpected()
            assert not unexpected, f"browser console errors: {unexpected}"
        finally:
            browser.close()


def _drive_the_explorer(page, lab, index, screenshots_dir):
    # Run that cell alone, as a learner who jumps to the explorer would.
    try:
        cell = lab_browser.run_cell_alone(page, lab, NOTEBOOK.name, index, EXPLORER_CALL)
    except lab_browser.BrowserError as error:
        pytest.fail(str(error))
    output = cell.locator(".jp-Cell-outputArea")
    explorer = output.locator(".jupyter-widgets.widget-vbox").first
    table = output.locator(".widget-html").filter(has=page.locator("table"))
    errors = output.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    _wait_until(lambda: table.count() or errors.count() or _not_a_widget(output.inner_text()), STARTUP_SECONDS,
                "the explorer to show")
    if errors.count():
        traceback = errors.first.inner_text()[-3000:]
        hint = ("\nThe explorer's cell runs alone here: it must import what it uses."
                if "NameError" in traceback else "")
        pytest.fail(f"the explorer's cell failed:\n{traceback}{hint}")
    assert not _not_a_widget(output.inner_text()), _not_a_widget(output.inner_text())
    lab_browser.screenshot(page, explorer, screenshots_dir / "explorer-before.png")

    # It fits a 1280-px window: the whole syntax line and the whole preset box show.
    help_text = output.locator(".widget-html").filter(has_text="[pPADDING]")
    help_text.scroll_into_view_if_needed()
    cut = help_text.evaluate(_CLIPPED_JS, "[pPADDING]")
    assert not cut, f"the help text's [pPADDING] is cut at {VIEWPORT['width']} px: {cut}"
    select = _control(output, "dropdown", "preset").locator("select")
    select.scroll_into_view_if_needed()
    cut = select.evaluate(_CLIPPED_JS, None)
    assert not cut, f"the preset dropdown is cut at {VIEWPORT['width']} px: {cut}"
    too_narrow = select.evaluate(_SELECT_OVERFLOW_JS)
    assert too_narrow <= 0, f"the preset dropdown is {too_narrow:.0f} px too narrow for its chosen preset"

    picture = output.locator("img.widget-image").first
    idle = page.locator('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status="idle"]')

    def changes_table(action, what):
        before, picture_before = table.inner_text(), picture.get_attribute("src")
        action()
        _wait_until(lambda: table.inner_text() != before, UPDATE_SECONDS, f"the table to change after {what}")
        assert not _not_a_widget(output.inner_text()), _not_a_widget(output.inner_text())
        # The explorer draws the table, then the picture; the next change waits for both
        # and for the kernel, so each change is checked on its own. (JupyterLab 4.6 with
        # ipykernel 7 may deliver a change made during an update on another thread.)
        _wait_until(lambda: picture.get_attribute("src") != picture_before, UPDATE_SECONDS,
                    f"the picture to change after {what}")
        idle.wait_for()

    assert _final_field(table) == "212", "VGG-16's receptive field is 212 px (Distill's table)"
    # AlexNet's features see 195 px (Distill's table, alexnet_v2; torchvision's alexnet().features).
    changes_table(lambda: select.select_option(label="AlexNet (torchvision's features)"), "a preset")
    assert _final_field(table) == "195", f"AlexNet's receptive field is 195 px:\n{table.inner_text()}"
    readout = _control(output, "slider", "input px").locator(".widget-readout")
    changes_table(lambda: (readout.click(), page.keyboard.press("Control+a"), page.keyboard.type("100"),
                           page.keyboard.press("Enter")), "the input-size slider")
    layers = output.locator(".widget-textarea textarea")
    # The text is sent when the box loses focus (a learner clicks or tabs elsewhere).
    changes_table(lambda: (layers.fill("conv 3\nconv 3"), layers.blur()), "the layer text")
    assert _final_field(table) == "5", "two 3x3 convolutions see 5 px"
    assert "(custom" in select.evaluate("s => s.options[s.selectedIndex].text"), \
        "the preset dropdown does not say custom after the layers were edited"
    lab_browser.screenshot(page, explorer, screenshots_dir / "explorer-after.png")
