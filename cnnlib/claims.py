"""The claim check that closes every notebook.

Each row is a claim of the lecture notes (IDs as in claims.md), the number
measured for it in this run, and a verdict computed from that number:

- "holds": the measurement agrees with the note;
- "corrected: ...": the note is imprecise and the measurement gives the right figure;
- "does not hold": the measurement contradicts the note;
- "inconclusive at this budget": the run was too small to tell (quick mode, say).

The verdict is derived from the arguments `holds` and `conclusive`, which a
notebook computes from its measurements; there is no way to type one in.
"""
import html
from dataclasses import dataclass

CLAIMS = {
    "G-1": "CNNs are used mainly in classification, detection, localization and segmentation.",
    "A-1": "AlexNet is split into two towers (two GPUs) because one GPU had too little memory.",
    "A-2": "ReLU was a success factor of AlexNet; stacking layers does not ruin it.",
    "A-3": "Local response normalization: a strong response suppresses its neighbours across channels.",
    "A-4": "Overlapping pooling (3x3 windows, stride 2).",
    "A-5": "Data augmentation.",
    "A-6": "Dropout: some neurons are set to zero.",
    "R-1": "ReLU keeps the gradient of a linear model: slope 1 for positive input, however large.",
    "R-2": "ReLU networks are easy to train.",
    "R-3": "ReLU networks generalize well.",
    "R-4": "ReLU overcomes vanishing gradients; sigmoid's slope is at most 0.25, so through L layers a gradient can shrink by 0.25^L.",
    "V-1": "VGG increases depth with 3x3 convolutions only; VGG16/19 are named by their weight layers.",
    "V-2": "The fully connected layers are done as convolutions, so the network runs on any input size.",
    "V-3": "Two stacked 3x3 convolutions see 5x5, the same as one 5x5.",
    "V-4": "3x3 + 3x3 = 18 weights per channel pair against 25 for a 5x5: 'about 1.5x' fewer.",
    "I-1": "GoogLeNet repeats similar sub-networks (Network in Network).",
    "I-2": "An Inception block fans one input out to branches with different receptive fields and concatenates them.",
    "I-3": "This reduces the network's total parameter count.",
    "I-4": "A convolution's parameter count does not depend on the input's spatial size (its compute does).",
    "I-5": "A 1x1 convolution keeps the spatial size and reduces channels, cutting parameters further.",
    "S-1": "Deeper plain networks are harder to train: higher training and test error, so not overfitting.",
    "S-2": "An identity shortcut lets the layers learn only the residual, and training works better.",
    "S-3": "This makes much deeper networks trainable.",
    "S-4": "Batch norm after each convolution; the identity is added 'after the nonlinear activation'.",
    "S-5": "A 1x1 convolution matches dimensions on the shortcut when they change.",
    "S-6": "Bottleneck: 1x1 reduce, 3x3, 1x1 expand; fewer parameters and less compute per block.",
    "S-7": "Performance increases while parameter size decreases.",
    "D-1": "DenseNet concatenates instead of adding (addition mixes the two values).",
    "D-2": "Because of concatenation the channel count keeps growing; each layer sees all earlier maps.",
    "D-3": "The channels grow 'exponentially'.",
    "D-4": "Transition layers (1x1 conv + pooling, compression) shrink the map between dense blocks.",
}

INCONCLUSIVE = "inconclusive at this budget"


@dataclass(frozen=True)
class ClaimRow:
    claim_id: str
    claim: str
    measured: str
    verdict: str


def verdict(holds, conclusive=True, correction=None):
    """The verdict that `holds` (a bool computed from measurements) and `conclusive` support."""
    if not conclusive:
        return INCONCLUSIVE
    if holds:
        return "holds"
    return f"corrected: {correction}" if correction else "does not hold"


class ClaimCheck:
    """A table of claims, measurements and verdicts; shows itself as HTML in a notebook."""

    def __init__(self, title="Claim check"):
        self.title = title
        self.rows = []

    def add(self, claim_id, measured, holds, conclusive=True, correction=None):
        """Add one claim. measured: the numbers, as text; holds, conclusive: computed from them.

        correction: for a claim the note states imprecisely, the right figure
        (used when `holds` is False).
        """
        if claim_id not in CLAIMS:
            raise KeyError(f"unknown claim {claim_id!r}; the IDs are those of lecture-notes/claims.md")
        row = ClaimRow(claim_id, CLAIMS[claim_id], measured,
                       verdict(bool(holds), bool(conclusive), correction))
        self.rows.append(row)
        return row

    def verdicts(self):
        return {row.claim_id: row.verdict for row in self.rows}

    def __str__(self):
        lines = [self.title]
        for row in self.rows:
            lines.append(f"{row.claim_id:4} {row.verdict}\n     claim:    {row.claim}\n     measured: {row.measured}")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        cells = "".join(
            f"<tr><td><b>{html.escape(r.claim_id)}</b></td><td style='text-align:left'>{html.escape(r.claim)}</td>"
            f"<td style='text-align:left'>{html.escape(r.measured)}</td><td style='text-align:left'>{html.escape(r.verdict)}</td></tr>"
            for r in self.rows
        )
        return (f"<h4>{html.escape(self.title)}</h4><table><thead><tr><th>claim</th><th>the note says</th>"
                f"<th>measured in this run</th><th>verdict</th></tr></thead><tbody>{cells}</tbody></table>")
