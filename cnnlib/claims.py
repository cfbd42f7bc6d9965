"""The claim check that closes every notebook: the notes' claims, the two kinds of row, the verdicts.

Each row is a claim of the lecture notes (IDs as in claims.md), the note's
own Korean line beside its English translation, and one of two kinds:

- a *demonstration* shows a mechanism, an arithmetic fact or a shape by
  construction (a grouped convolution equals two towers; 25 vs 18 weights),
  or computes something from published numbers. It cannot come out
  otherwise, and says so: "shown by construction", or "corrected" where the
  construction shows the note is imprecise.
- an *experiment* is a training result. Its verdict comes only from the
  noise rule below. The claim "holds" when every difference it rests on
  supports it by more than the noise; it is "not reproduced in this setting"
  (one setting cannot refute a claim in general) or "corrected" when a
  difference goes against it by more than the noise; otherwise, or when a
  precondition of the measurement fails (plain-56 never started to learn,
  say), it is "inconclusive at this budget".

The noise rule (`compare`, `compare_to`, `compare_seeds`) lives in `cnnlib.noise`
and is used from here: a difference counts when it is larger than its threshold,
t standard errors (binomial for rates, widened by the spread of seeds).

Verdicts are computed from the measurements a notebook passes in; there is
no way to type one in.
"""
import math
from dataclasses import dataclass

from . import results
from .noise import Difference, Spread, compare, compare_seeds, compare_to, student_t  # noqa: F401 (used with claims)
from .table import Table

REFERENCE = "cpu-reference"  # the shipped claim rows an experiment row shows beside its own (see ClaimCheck)


@dataclass(frozen=True)
class Claim:
    note: str      # the note's own line(s), verbatim Korean
    english: str   # what the note says, in English
    remark: str = ""  # how the English reads the note, where that needs saying


CLAIMS = {
    "G-1": Claim("Classification / Detection / Localization / Segmentation 에서 주로 사용",
                 "CNNs are used mainly in classification, detection, localization and segmentation."),
    "A-1": Claim("입력은 같지만 network가 두 개로 나뉘는 것은 GPU 부족을 해결하기 위함 / - GPI 충족 (2 GPUs)",
                 "The input is the same; the network is split in two to make up for too little GPU (two GPUs).",
                 "the course adds the paper's reason: one GTX 580 had only 3 GB of memory"),
    "A-2": Claim("( Not Linear하기 때문에 마지막 scope의 값이 1이 되므로 network가 쌓였을 때 망칠 수 있는 요인이 되지 않음 )",
                 "ReLU, a success factor of AlexNet: non-linear, but its slope is 1 for positive input, so "
                 "stacking layers does not ruin the network.",
                 "our reading (해석) of a garbled aside in the list of success factors: literally 'because it is "
                 "not linear, the value of the last scope becomes 1, so it does not become a factor that ruins "
                 "the network when stacked'; the line names no activation, and 'scope' is read as 'slope'"),
    "A-3": Claim("특정 입력 공간에서 response 많이 나오면 죽여버리는 Local Response Normalization",
                 "Local response normalization: where a particular input region responds strongly, the response "
                 "is damped ('killed').",
                 "in the paper the division runs over neighbouring channels at the same position"),
    "A-4": Claim("Overlapping Pooling", "Overlapping pooling is one of AlexNet's success factors.",
                 "the paper's windows: 3x3, stride 2"),
    "A-5": Claim("- Data augmentation", "Data augmentation is one of AlexNet's success factors."),
    "A-6": Claim("- Dropout (Neuron 중에서 몇 개 0으로 변환)", "Dropout: some of the neurons are set to zero."),
    "R-1": Claim("linear model이 갖는 좋은 성질(gradient가 activation 값이 커도 gradient 값 그대로 가짐)들을 유지",
                 "ReLU keeps the good properties of a linear model: the gradient keeps its value even when the "
                 "activation is large.",
                 "precisely: the slope is 1 for every positive input"),
    "R-2": Claim("학습에 용이함", "ReLU networks are easy to train."),
    "R-3": Claim("좋은 Generalization", "ReLU networks generalize well."),
    "R-4": Claim("Vanishing gradient problem 극복 / - neuron의 값이 크면(0에서 많이 벗어나면) activation 기준하는 "
                 "gradient slope가 0에 가까워지는 activation funciton 사용의 문제 발생하지 않게 됨",
                 "ReLU overcomes the vanishing gradient problem: the slope no longer goes to 0 when a unit's value "
                 "is large (far from 0).",
                 "for large positive values; for negative values ReLU's slope is 0"),
    "V-1": Claim("3x3 convolution filter로만 depth를 늘려간다 / layer의 개수에 따라 VGG16, VGG19도 존재",
                 "VGG increases depth with 3x3 convolution filters only; by the number of layers there are also "
                 "VGG16 and VGG19."),
    "V-2": Claim("fully connected layer들에게는 1x1 convolution을 사용함",
                 "1x1 convolutions are used for the fully connected layers."),
    "V-3": Claim("3x3이 두 번 이뤄질 경우 receptive field는 5x5가 됨. 그러나 receptive field 차원에서는 3x3 쓰나 5x5 쓰나 똑같음",
                 "Two 3x3 convolutions in a row have a 5x5 receptive field: in receptive field, using 3x3 "
                 "(twice) or 5x5 is the same."),
    "V-4": Claim("layer를 두 개 쌓음으로써 parameter set가 2배로 늘어나게 되어 3x3과 5x5 사이 parameter 개수 차이가 "
                 "1.5배정도 나게 됨 / 비교했을 때 5x5 = 25, 3x3+3x3=18",
                 "A 5x5 has about 1.5x the parameters of two stacked 3x3: 5x5 = 25, 3x3 + 3x3 = 18."),
    "I-1": Claim("비슷해보이는 network들의 반복 (Network In Network)",
                 "GoogLeNet repeats similar-looking networks (Network in Network)."),
    "I-2": Claim("하나의 입력이 들어왔을 때 여러 개로 펼쳐졌다가 하나로 다시 합쳐짐 / - 하나의 입력에 대해 여러 개의 "
                 "receptive field를 갖는 filter를 거치고, 이거를 통해 여러 개의 response들을 concatenate하는 효과를 가짐",
                 "An Inception block spreads one input into several branches, filters with several receptive "
                 "fields, and concatenates their responses into one again."),
    "I-3": Claim("전체적인 network parameter의 개수를 줄여줌", "This reduces the network's overall parameter count."),
    "I-4": Claim("convolution은 각각의 spatial 위치에 더해지는 convolution filter가 동일하기 때문에, paramter 숫자와 "
                 "spatial dimension은 연관이 없음",
                 "A convolution applies the same filter at every position, so its parameter count has nothing "
                 "to do with the spatial size.",
                 "its compute does depend on the spatial size"),
    "I-5": Claim("3x3으로 충분히 parameter 줄였으나 더 줄이고 싶을 때 1x1 convolution 사용 - 1x1 convolution은 spatial "
                 "dimension은 그대로 둔 상태로 channel 방향 정보를 줄임으로써 parameter 개수를 줄임",
                 "To cut parameters further than 3x3 does, use a 1x1 convolution: it keeps the spatial size and "
                 "reduces the channels."),
    "S-1": Claim("Neural network가 깊어질수록 train하기 어려워진다 / training error와 test error 모두 줄어들긴 했으므로 "
                 "overfitting은 아님 / - Overfitting : trainig error가 줄어들지만 test error가 커지는 경우",
                 "Deeper networks get harder to train. The training and test errors both did fall, so this is not "
                 "overfitting (overfitting: the training error falls while the test error rises).",
                 "the course measures He et al.'s Fig. 1 form: the deeper plain net ends with higher training "
                 "error, and thus higher test error, than the shallower one"),
    "S-2": Claim("input이 밑에서부터 위로 올라가는 identity map 추가 / 학습 layer가 학습하고자 하는 quantity는 "
                 "residual(차이)만 학습하게 됨 / 이전과 비교해 결과적으로 학습 자체를 더 잘 시킬 수 있게 됨",
                 "An identity map carries the input upward; the layers learn only the residual (the difference), "
                 "and training works better than before."),
    "S-3": Claim("network를 deep하게 더 쌓을 수 있는 가능성 보임",
                 "This showed that networks could be stacked much deeper."),
    "S-4": Claim("identity map을 nonlinear activation 이후에 추가하고, batch normalization을 convolution 이후에 추가함",
                 "The identity map is added after the nonlinear activation, and batch normalization after the "
                 "convolution."),
    "S-5": Claim("그 사이에 차원을 맞춰주기 위해 1x1 convolution 사용",
                 "A 1x1 convolution is used in between to match the dimensions.",
                 "our reading (해석): on the shortcut where the shape changes (the note does not say 'shortcut'; "
                 "the bottleneck's 1x1 layers also match dimensions)"),
    "S-6": Claim("1x1 convolution으로 channel 줄이고 / 줄어든 channel에서 3x3(또는 5x5) convolution 수행함으로써 "
                 "receptive field 키우고 / 다시 1x1 convolution으로 원하는 channel로 맞춰줌 / - bottleneck layer : "
                 "이전 layer와 비교했을 때 더 적은 layer를 가지고 있는 것",
                 "Bottleneck: a 1x1 convolution reduces the channels, a 3x3 (or 5x5) on the fewer channels grows "
                 "the receptive field, a 1x1 restores the channels; a bottleneck layer 'has fewer layers'."),
    "S-7": Claim("PERFORMANCE INCREASES while PARAMETER SIZE DECREASES",
                 "Performance increases while parameter size decreases.",
                 "the line closes the bottleneck lines; the course tests the broader reading across architectures"),
    "D-1": Claim("ResNet과 다르게 DenseNet은 이미 channel과 spatial dimension이 같으므로 두 개의 값이 섞이는 addition "
                 "대신 concatenation을 사용",
                 "Unlike ResNet, DenseNet uses concatenation instead of addition (which mixes the two values), "
                 "since the channel and spatial dimensions are already the same."),
    "D-2": Claim("concatenation 사용하기 때문에 channel이 점점 커짐",
                 "Because concatenation is used, the channels keep growing."),
    "D-3": Claim("뒤에 있는 것은 앞에 있는 것 모두를 다 concatenate하기 때문에 기하급수적으로 커짐 - convolution의 "
                 "feature map의 channel 크기와 parameter 개수도 같이 커짐",
                 "Each later layer concatenates all the earlier ones, so the channels grow 'exponentially', and "
                 "the parameter count with them."),
    "D-4": Claim("Dense Block으로 feature map을 계속 키워서 convolution map을 키움",
                 "Dense blocks keep enlarging the feature map.",
                 "the course adds: between blocks, transition layers (1x1 convolution with compression, 2x2 "
                 "average pooling) shrink it again"),
}

DEMONSTRATION, EXPERIMENT = "demonstration", "experiment"
KIND_NAMES = {DEMONSTRATION: "demonstration · 시연", EXPERIMENT: "experiment · 실험"}
ASPECT_NAMES = {"mechanism": "mechanism · 작동 원리", "effect": "effect · 효과"}


@dataclass(frozen=True)
class Verdict:
    english: str
    korean: str

    def __str__(self):
        return f"{self.english} · {self.korean}"


HOLDS = Verdict("holds", "성립")
SHOWN = Verdict("shown by construction", "구성상 성립")
CORRECTED = Verdict("corrected", "정정")
DOES_NOT_HOLD = Verdict("does not hold", "성립하지 않음")
NOT_REPRODUCED = Verdict("not reproduced in this setting", "이 설정에서는 재현되지 않음")
INCONCLUSIVE = Verdict("inconclusive at this budget", "이 예산에서는 판단 보류")


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class ClaimRow:
    claim_id: str
    kind: str
    aspect: str
    measured: str
    verdict: Verdict
    detail: str = ""
    reference: str = ""

    @property
    def claim(self):
        return CLAIMS[self.claim_id]

    @property
    def verdict_text(self):
        return f"{self.verdict}: {self.detail}" if self.detail else str(self.verdict)


class ClaimCheck:
    """A table of claims, what was shown or measured, and verdicts; HTML in a notebook, text elsewhere.

    notebook: the notebook's name ("05_resnet"): `save` records the rows under it, and each
    experiment row shows, beside its own verdict, the verdict of the same claim in the
    shipped reference `reference` (default "cpu-reference": the same notebook run on the
    50,000 CIFAR-10 images on a CPU by scripts/cpu_references.py; see cnnlib.results),
    labelled as recorded.
    """

    def __init__(self, title="Claim check", notebook=None, reference=REFERENCE):
        self.title = title
        self.notebook = notebook
        self.reference = reference
        self.rows = []

    def demonstration(self, claim_id, shown, holds, correction=None, aspect=""):
        """A row shown by construction. holds: computed from what was shown;
        correction: the right statement, for a note that the construction corrects."""
        if holds:
            verdict, detail = SHOWN, ""
        elif correction:
            verdict, detail = CORRECTED, correction
        else:
            verdict, detail = DOES_NOT_HOLD, ""
        self._add(ClaimRow(_known(claim_id), DEMONSTRATION, aspect, shown, verdict, detail))

    def experiment(self, claim_id, measured, differences, correction=None, given=None, aspect="",
                   reference=None):
        """A training result judged by the noise rule.

        differences: one Difference or several, each oriented so that positive
        supports the claim. The claim holds when every difference supports it;
        when any contradicts it, it is "not reproduced in this setting" (a
        run in one setting can contradict a claim, not refute it in general)
        or "corrected" when `correction` gives the right statement; otherwise
        it is inconclusive. given: (bool, reason), a
        precondition without which the run cannot judge the claim (e.g. "the
        variant without dropout overfits"). reference: a line with the shipped
        evidence shown beside; by default the recorded reference row of this claim
        and aspect (see the class), or nothing where none is shipped.
        """
        if isinstance(differences, Difference):
            differences = [differences]
        detail = ""
        failed = given is not None and not given[0]
        if any(d.contradicts for d in differences):
            # A training run in one setting can contradict a claim, not refute it in general; a failed
            # precondition (it cannot support the claim) does not turn a measurement against it into noise.
            verdict, detail = (CORRECTED, correction) if correction else (NOT_REPRODUCED, "")
            if failed:
                detail = "; ".join(filter(None, [detail, f"note: {given[1]}"]))
        elif failed:
            verdict, detail = INCONCLUSIVE, given[1]
        elif all(d.supports for d in differences):
            verdict = HOLDS
        else:
            verdict = INCONCLUSIVE
            detail = "the difference is within the noise" if all(
                math.isfinite(d.standard_error) for d in differences) else "one seed cannot tell the noise"
        if reference is None and self.reference:
            reference = results.describe_claim(claim_id, aspect, self.reference, notebook=self.notebook)
        row = ClaimRow(_known(claim_id), EXPERIMENT, aspect, measured, verdict, detail, reference or "")
        self._add(row)

    def not_trained(self, claim_id, missing, aspect=""):
        """An experiment row for a run that did not train in this session (the stop button):
        no verdict, and which runs are missing. The reference row is shown beside as usual."""
        measured = f"not measured: {', '.join(missing)} did not train in this run (stopped); run the notebook again"
        reference = results.describe_claim(claim_id, aspect, self.reference, notebook=self.notebook) \
            if self.reference else ""
        self._add(ClaimRow(_known(claim_id), EXPERIMENT, aspect, measured, INCONCLUSIVE,
                           "not measured in this run", reference))

    def needs(self, claim_id, trained, names, aspect=""):
        """True when every run in `names` is in `trained` ({name: run}); otherwise add the row that
        says which did not train (`not_trained`) and return False."""
        missing = [name for name in names if name not in trained]
        if missing:
            self.not_trained(claim_id, missing, aspect)
        return not missing

    def save(self, mode=None, device=None):
        """Record the rows (in the learner's results folder, beside the runs' records) under the
        notebook's name; returns the file. A maintainer's command publishes them as references."""
        if not self.notebook:
            raise ValueError("a ClaimCheck saves under its notebook's name: ClaimCheck(title, notebook='05_resnet')")
        rows = [dict(claim=r.claim_id, kind=r.kind, aspect=r.aspect, measured=r.measured,
                     verdict=r.verdict.english, verdict_korean=r.verdict.korean, detail=r.detail) for r in self.rows]
        return results.record_claims(self.notebook, rows, mode, device)

    def _add(self, row):
        self.rows.append(row)  # nothing returned: a notebook cell that ends with a row shows no repr

    def verdicts(self):
        """{claim ID: verdict} (the last row of each ID)."""
        return {row.claim_id: row.verdict for row in self.rows}

    def ordered(self):
        """The rows in the order of the notes (claims.md), whatever order the cells added them in."""
        order = list(CLAIMS)
        return sorted(self.rows, key=lambda row: order.index(row.claim_id))

    def table(self):
        with_reference = any(row.reference for row in self.rows)
        headers = ["claim", "노트 원문 (the note)", "in English", "kind", "shown or measured", "verdict (판정)"]
        headers += ["recorded reference (기록된 참고값)"] if with_reference else []
        rows = []
        for row in self.ordered():
            kind = KIND_NAMES[row.kind] + (f" ({ASPECT_NAMES.get(row.aspect, row.aspect)})" if row.aspect else "")
            english = row.claim.english + (f" [{row.claim.remark}]" if row.claim.remark else "")
            cells = [row.claim_id, row.claim.note, english, kind, row.measured, row.verdict_text]
            rows.append(cells + ([row.reference] if with_reference else []))
        return Table(headers, rows, title=self.title)

    def __str__(self):
        lines = [self.title]
        for row in self.ordered():
            lines.append(f"{row.claim_id:4} {row.kind:13} {row.verdict_text}\n"
                         f"     노트:     {row.claim.note}\n"
                         f"     claim:    {row.claim.english}\n"
                         f"     {'shown' if row.kind == DEMONSTRATION else 'measured'}:    {row.measured}"
                         + (f"\n     reference: {row.reference}" if row.reference else ""))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        return self.table()._repr_html_()


def _known(claim_id):
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim {claim_id!r}; the IDs are those of lecture-notes/claims.md")
    return claim_id
