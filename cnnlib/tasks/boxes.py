"""Boxes and points from score maps, and how well they match the known answer.

Localization (one object, its class known):
  pointing_hits   does the map's highest pixel fall inside the object's box?
                  (the pointing game, Zhang et al. 2016)
  peak_boxes      the box around the peak's connected region above 20 % of the
                  peak (after Zhou et al. 2016's rule for boxes from class activation maps)
Detection (several objects, classes unknown):
  detect          peaks of an objectness map -> one window box each -> non-maximum
                  suppression
  match           which detections find an object (IoU >= 0.5, the right class)
  precision_recall, precision_recall_curve   over many canvases

Boxes are (x0, y0, x1, y1) in pixels, x1 and y1 exclusive, as torchvision's ops take them.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import box_iou, nms


# ---------------------------------------------------------------- localization

def pointing_hits(maps, boxes):
    """For maps (N, H, W) and one box per map (N, 4): is each map's highest pixel inside its box?"""
    width = maps.shape[-1]
    peak = maps.flatten(1).argmax(1)
    y, x = peak // width, peak % width
    return (x >= boxes[:, 0]) & (x < boxes[:, 2]) & (y >= boxes[:, 1]) & (y < boxes[:, 3])


def peak_boxes(maps, fraction=0.2):
    """For maps (N, H, W): the box around the pixels whose value reaches `fraction` of
    the map's highest value and that are connected to that peak (8 neighbours).
    Zhou et al. (2016) box the largest such region; it is nearly always the peak's. Returns (N, 4)."""
    high = maps.flatten(1).max(1).values.view(-1, 1, 1)
    above = (maps >= fraction * high).float()
    region = (maps == high).float()
    while True:  # grow the region from the peak, one ring of neighbours at a time, through pixels above
        grown = F.max_pool2d(region[:, None], 3, stride=1, padding=1)[:, 0] * above
        if torch.equal(grown, region):
            break
        region = grown
    region = region.bool()
    rows, columns = region.any(2), region.any(1)
    first = lambda mask: mask.float().argmax(1)
    last = lambda mask: mask.shape[1] - mask.flip(1).float().argmax(1)
    return torch.stack([first(columns), first(rows), last(columns), last(rows)], dim=1)


# ---------------------------------------------------------------- detection

@dataclass
class Detections:
    """What a detector found on one image: boxes (K, 4), labels (K,), scores (K,), best first."""

    boxes: torch.Tensor
    labels: torch.Tensor
    scores: torch.Tensor

    def __len__(self):
        return len(self.scores)

    def best(self, count):
        """The `count` best detections (all of them if there are fewer)."""
        return Detections(self.boxes[:count], self.labels[:count], self.scores[:count])


def window_boxes(rows, columns, jump, window=32, device=None):
    """The pixel box of every window of a rows x columns window map, row by row: (rows * columns, 4).
    Window (i, j) covers the window x window crop whose top-left pixel is (jump * i, jump * j)."""
    i, j = torch.meshgrid(torch.arange(rows, device=device), torch.arange(columns, device=device), indexing="ij")
    x, y = (j * jump).flatten(), (i * jump).flatten()
    return torch.stack([x, y, x + window, y + window], dim=1)


def detect(objectness, labels, jump, window=32, threshold=0.5, overlap=0.3, most=None):
    """Detections from window maps: objectness (N, h, w) in [0, 1] and labels (N, h, w).

    Window (i, j) is the box of window x window pixels at (jump * j, jump * i). A window
    is a candidate where its objectness reaches `threshold` and is the highest among its
    8 neighbours (a peak); non-maximum suppression then drops every candidate that
    overlaps a better one by IoU > `overlap`, whatever its class (the objects here never
    overlap, so two boxes on one place are one object). most: keep only the best this
    many on each image (one count per image), to compare detectors at equal numbers of
    boxes. Returns one Detections per image.
    """
    peaks = objectness == F.max_pool2d(objectness[:, None], 3, stride=1, padding=1)[:, 0]
    every_box = window_boxes(*objectness.shape[1:], jump, window, objectness.device).float()
    found = []
    for score_map, label_map, peak_map in zip(objectness, labels, peaks):
        candidates = (peak_map & (score_map >= threshold)).flatten().nonzero().flatten()
        candidate_boxes, scores = every_box[candidates], score_map.flatten()[candidates]
        keep = nms(candidate_boxes, scores, overlap)
        found.append(Detections(candidate_boxes[keep], label_map.flatten()[candidates][keep], scores[keep]))
    if most is not None:
        if len(most) != len(found):
            raise ValueError(f"most gives {len(most)} counts for {len(found)} images")
        found = [d.best(count) for d, count in zip(found, most)]
    return found


def match(detections, boxes, labels, iou=0.5, by_class=True):
    """Which detections are true positives: taken best first, each claims the unclaimed
    object it overlaps most, if that IoU reaches `iou` (and, by_class, the labels agree),
    as PASCAL VOC scores detections. Returns a bool tensor (K,)."""
    hits = torch.zeros(len(detections), dtype=torch.bool)
    if len(detections) == 0 or len(boxes) == 0:
        return hits
    overlaps = box_iou(detections.boxes.float().cpu(), boxes.float().cpu())
    if by_class:
        overlaps[detections.labels.cpu()[:, None] != labels.cpu()[None, :]] = -1
    claimed = torch.zeros(len(boxes), dtype=torch.bool)
    for k in torch.argsort(detections.scores.cpu(), descending=True).tolist():
        candidates = overlaps[k].masked_fill(claimed, -1)
        best = int(candidates.argmax())
        if candidates[best] >= iou:
            hits[k] = claimed[best] = True
    return hits


@dataclass
class Score:
    """Detection counts over many images, and the rates they give."""

    true_positives: int
    detections: int
    objects: int

    @property
    def precision(self):
        return self.true_positives / self.detections if self.detections else float("nan")

    @property
    def recall(self):
        return self.true_positives / self.objects if self.objects else float("nan")


def precision_recall(found, canvases, iou=0.5, by_class=True):
    """Precision and recall (a Score) of the detections `found` on `canvases` (one Detections per canvas)."""
    hits = [match(d, c.boxes, c.labels, iou, by_class) for d, c in zip(found, canvases)]
    return Score(int(sum(h.sum() for h in hits)), sum(len(d) for d in found),
                 sum(len(c.boxes) for c in canvases))


def precision_recall_curve(found, canvases, iou=0.5, by_class=True):
    """Precision and recall as the score threshold falls through every detection's score:
    three tensors (thresholds, precision, recall), one entry per detection, best first."""
    scores = torch.cat([d.scores.cpu() for d in found]) if found else torch.zeros(0)
    hits = torch.cat([match(d, c.boxes, c.labels, iou, by_class) for d, c in zip(found, canvases)])
    order = torch.argsort(scores, descending=True)
    true_positives = hits[order].float().cumsum(0)
    counted = torch.arange(1, len(order) + 1)
    objects = sum(len(c.boxes) for c in canvases)
    return scores[order], true_positives / counted, true_positives / objects
