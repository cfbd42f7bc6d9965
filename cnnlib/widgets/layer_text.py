"""The explorer's layer language: one layer per line, read into arith layer specs and written back."""
from .. import arith

LAYER_SYNTAX = """One layer per line: [name:] KIND KERNEL [sSTRIDE] [pPADDING] [dDILATION] [cCHANNELS] [ceil]
  KIND is conv, maxpool, avgpool or pool (max); stride defaults to 1 for conv and to the kernel for pools;
  cCHANNELS gives a convolution's output channels (default: as many as it gets).
  A first line "input cN" says the input has N channels (default 3, an RGB image).
  Example: "conv1: conv 3 s1 p1 c64", "pool 2 s2", "conv 3 p2 d2".  Text after # is ignored."""

IN_CHANNELS = 3  # an RGB photo
MAX_CHARACTERS = 10_000  # VGG-19 with names and comments takes under 1,000
MAX_LAYERS = 100
QUOTED = 40  # characters of a line quoted in a message


def shorten(text, limit):
    """text, cut to `limit` characters with an ellipsis where it was cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def parse_layers(text):
    """Layer specs (arith.Layer) from text, one per line (see LAYER_SYNTAX).

    Raises ValueError naming the line of the first mistake. Each convolution's
    input channels are those of the map it reads, so parameters are known.
    Text over MAX_CHARACTERS or with more than MAX_LAYERS layers is refused
    before it is read.
    """
    if len(text) > MAX_CHARACTERS:
        raise ValueError(f"the text is {len(text):,} characters long; the explorer reads at most "
                         f"{MAX_CHARACTERS:,} (a layer takes a line of a few words)")
    layers, channels = [], IN_CHANNELS
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        quoted = repr(shorten(line, QUOTED))
        words = line.lower().split()
        if words[0] == "input":
            if layers or len(words) != 2 or words[1][:1] != "c" or not words[1][1:].isdigit() or words[1] == "c0":
                raise ValueError(f"line {number} ({quoted}): 'input cN' (N channels) can only be the first line")
            channels = int(words[1][1:])
            continue
        if len(layers) == MAX_LAYERS:
            raise ValueError(f"line {number}: the explorer takes at most {MAX_LAYERS} layers")
        try:
            layer = _parse_line(line, channels)
        except ValueError as error:
            raise ValueError(f"line {number} ({quoted}): {error}") from None
        channels = layer.out_channels if layer.kind == "conv" else channels
        layers.append(layer)
    if not layers:
        raise ValueError("no layers: write one layer per line, e.g. 'conv 3 s1 p1 c64'")
    return layers


def _parse_line(line, channels):
    name = None
    if ":" in line:
        name, line = (part.strip() for part in line.split(":", 1))
        if not name or " " in name:
            raise ValueError("a name is one word before the colon")
    words = line.lower().split()
    if not words:
        raise ValueError("a name without a layer")
    kind = {"pool": "maxpool"}.get(words[0], words[0])
    if kind not in ("conv", "maxpool", "avgpool"):
        raise ValueError(f"unknown kind {shorten(words[0], QUOTED)!r}: use conv, maxpool, avgpool or pool")
    if len(words) < 2 or not words[1].isdigit():
        raise ValueError("the kernel size, a whole number, comes after the kind (e.g. 'conv 3')")
    kernel, options, ceil_mode = int(words[1]), {}, False
    for word in words[2:]:
        if word == "ceil":
            ceil_mode = True
        elif word[:1] in ("s", "p", "d", "c") and word[1:].isdigit():
            if word[0] in options:
                raise ValueError(f"{word[0]} is given twice")
            options[word[0]] = int(word[1:])
        else:
            raise ValueError(f"cannot read {shorten(word, QUOTED)!r}: expected s<stride>, p<padding>, "
                             "d<dilation>, c<channels> or ceil")
    if kernel < 1 or options.get("s", 1) < 1 or options.get("d", 1) < 1 or options.get("c", 1) < 1:
        raise ValueError("kernel, stride, dilation and channels must be at least 1")
    if kind == "conv":
        if ceil_mode:
            raise ValueError("ceil is for pooling layers")
        return arith.conv(kernel, options.get("s", 1), options.get("p", 0), options.get("d", 1),
                          in_channels=channels, out_channels=options.get("c", channels), name=name)
    if "c" in options:
        raise ValueError("a pooling layer keeps its channels: drop the c")
    span = options.get("d", 1) * (kernel - 1) + 1
    if 2 * options.get("p", 0) > span:
        raise ValueError(f"a pooling's padding can be at most half its window ({span} px), as in PyTorch")
    return arith.pool(kernel, options.get("s", kernel), options.get("p", 0), options.get("d", 1), name=name,
                      kind=kind[:3], ceil_mode=ceil_mode)


def format_layers(layers):
    """The text parse_layers reads back as the same layers (channels and names included)."""
    first_conv = next((layer for layer in layers if layer.kind == "conv"), None)
    c_in = first_conv.in_channels if first_conv is not None else None
    lines = [f"input c{c_in}"] if c_in not in (None, IN_CHANNELS) else []
    for layer in layers:
        if layer.kind not in ("conv", "maxpool", "avgpool"):
            raise ValueError(f"the explorer has no text for {layer.kind!r} layers")
        words = [layer.kind, str(layer.kernel), f"s{layer.stride}", f"p{layer.padding}"]
        if layer.dilation != 1:
            words.append(f"d{layer.dilation}")
        if layer.kind == "conv" and layer.out_channels is not None:
            words.append(f"c{layer.out_channels}")
        if layer.ceil_mode:
            words.append("ceil")
        lines.append((f"{layer.name}: " if layer.name else "") + " ".join(words))
    return "\n".join(lines)
