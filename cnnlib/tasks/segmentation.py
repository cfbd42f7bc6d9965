"""Per-pixel class maps scored against known masks: the confusion matrix and mean IoU.

The intersection over union of a class is the pixels both maps give that class,
over the pixels either gives it; the mean IoU averages it over the classes
(Long et al. 2015's "mean IU"). Counts are pooled over all the maps first, as
PASCAL VOC does, so a class that is rare on one canvas weighs as much as on another.
"""
import torch


def confusion_matrix(predicted, truth, classes):
    """Pixel counts (classes, classes): row = true class, column = predicted class."""
    index = truth.flatten().long() * classes + predicted.flatten().long()
    return torch.bincount(index, minlength=classes * classes).view(classes, classes).cpu()


def class_iou(confusion):
    """The IoU of each class (nan for a class that neither map uses)."""
    confusion = confusion.double()
    both = confusion.diag()
    either = confusion.sum(0) + confusion.sum(1) - both
    return both / either  # 0 / 0 = nan: the class is absent from both


def mean_iou(predicted, truth, classes):
    """The mean over classes of the IoU, counts pooled over every map given (N, H, W) or (H, W)."""
    return float(class_iou(confusion_matrix(predicted, truth, classes)).nanmean())


def mean_iou_of_sets(predicted, truth, classes, sets):
    """The mean IoU of each of `sets` equal sets of maps (N, H, W): independent measurements,
    whose spread is the noise of the mean IoU."""
    return [mean_iou(p, t, classes) for p, t in zip(predicted.chunk(sets), truth.chunk(sets))]


def one_hot_scores(labels, classes):
    """Labels (N, h, w) as scores (N, classes, h, w): 1 for the label, 0 elsewhere
    (a perfect score map, for what a map's resolution alone costs)."""
    return torch.nn.functional.one_hot(labels.long(), classes).permute(0, 3, 1, 2).float()
