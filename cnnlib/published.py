"""Published ImageNet results of the course's architectures, for claim S-7
("performance increases while parameter size decreases").

Like with like: each paper's single model, tested on 10 crops of the 50,000
ILSVRC-2012 validation images (top-5 error), except VGG-16's, which is He et
al.'s 10-crop test (its own paper evaluates it densely and on many crops at
several scales, not on 10 crops). What was submitted to the challenge were
ensembles, listed beside for reference; each number was checked against its
paper (the source names the table). Parameter counts are torchvision's
models, counted on PyTorch's meta device (shapes only).

The published numbers are a demonstration, not an experiment: they come from
different papers, trainings and test protocols, so no noise rule applies to
them; `steps` only reads off whether, from one architecture to the next, the
one with fewer parameters is the more accurate. For the course's own
measured runs, `steps` also gives each step's difference under the noise rule.
"""
from dataclasses import dataclass
from typing import Optional

import torch

from . import claims
from .arith import count_parameters
from .table import Table

VALIDATION_IMAGES = 50_000


@dataclass(frozen=True)
class ImageNetResult:
    name: str
    year: int           # first public
    builder: str        # torchvision.models function
    top5_error: float   # %, one model, 10 crops, validation set
    source: str
    stated_parameters: str  # as the paper states them
    submitted: str      # the challenge entry, an ensemble

    @property
    def top5_accuracy(self):
        return 1 - self.top5_error / 100

    def parameters(self):
        import torchvision

        options = dict(aux_logits=False, init_weights=False) if self.builder == "googlenet" else {}
        with torch.device("meta"):
            return count_parameters(getattr(torchvision.models, self.builder)(weights=None, **options))


RESULTS = (
    ImageNetResult("AlexNet", 2012, "alexnet", 18.2, "Krizhevsky et al. 2012, Table 2 (1 CNN; 10 patches, Sec. 4.1)",
                   "60M (two towers)", "15.3 % (test): 7 CNNs, 2 pre-trained on ImageNet Fall 2011"),
    ImageNetResult("VGG-16", 2014, "vgg16", 9.33, "He et al. 2016, Table 3 (their 10-crop test)",
                   "138M (Table 2)", "7.3 % (test): 7 nets"),
    ImageNetResult("GoogLeNet", 2014, "googlenet", 9.15, "Szegedy et al. 2015, Table 3 (1 model, 10 crops)",
                   "6.8M (Table 1, summed)", "6.67 % (test): 7 models, 144 crops"),
    ImageNetResult("ResNet-152", 2015, "resnet152", 5.71, "He et al. 2016, Table 3 (10-crop)",
                   "none (11.3 GFLOPs)", "3.57 % (test): 6 models"),
    ImageNetResult("DenseNet-201", 2016, "densenet201", 5.54, "Huang et al. 2017, Table 3 (10-crop)",
                   "20M (Sec. 4.4)", "not submitted"),
)


def table():
    """The published results as a Table (torchvision's parameter counts beside the papers')."""
    rows = [[r.name, str(r.year), r.parameters(), r.stated_parameters, r.top5_error, r.source, r.submitted]
            for r in RESULTS]
    return Table(["model", "year", "parameters (torchvision)", "parameters (paper)",
                  "top-5 error, 1 model, 10 crops (%)", "source", "submitted to ILSVRC"],
                 rows, title="ImageNet top-5 error on the validation set")


@dataclass(frozen=True)
class Step:
    """One step from an architecture to the next, as S-7 would have it."""
    step: str            # "AlexNet -> VGG-16"
    ratio: float         # parameters, new / old
    change: float        # accuracy, new minus old, in points
    smaller: str         # the one with fewer parameters
    agrees: bool         # the one with fewer parameters is the more accurate
    difference: Optional[claims.Difference] = None  # measured runs only: smaller's accuracy minus larger's


def steps(entries):
    """Each step between consecutive entries (name, parameters, accuracy, and for a measured run the
    images it was measured on): S-7 says the one with fewer parameters is the more accurate."""
    found = []
    for old, new in zip(entries, entries[1:]):
        smaller, larger = (old, new) if old["parameters"] < new["parameters"] else (new, old)
        difference = None
        if smaller.get("images") and larger.get("images"):
            difference = claims.compare(smaller["accuracy"], larger["accuracy"], smaller["images"], larger["images"])
        found.append(Step(f"{old['name']} -> {new['name']}", new["parameters"] / old["parameters"],
                          100 * (new["accuracy"] - old["accuracy"]), smaller["name"],
                          smaller["accuracy"] > larger["accuracy"], difference))
    return found


def imagenet_entries():
    """The published results as entries for `steps` (no images: published numbers are not measured here)."""
    return [dict(name=r.name, parameters=r.parameters(), accuracy=r.top5_accuracy) for r in RESULTS]


def add_s7_row(check, steps_):
    """Add claim S-7's row to a claims.ClaimCheck: each step between the published models read off
    (a demonstration: numbers of different papers, no noise rule), corrected where the larger model
    is the more accurate."""
    larger_and_better = [s for s in steps_ if not s.agrees]
    check.demonstration(
        "S-7", "; ".join(f"{s.step}: parameters x{s.ratio:.2f}, top-5 accuracy {s.change:+.2f} points" for s in steps_)
               + " (published single models, 10 crops; numbers from different papers, read off as they are)",
        holds=not larger_and_better, aspect="published ImageNet results",
        correction="accuracy rose with the year, not as parameters fell: "
                   + "; ".join(f"{s.step} took x{s.ratio:.1f} the parameters and is the more accurate"
                               for s in larger_and_better))
