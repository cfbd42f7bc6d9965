"""What a learner would try before a CNN: the baselines notebook 07's tasks are held to.

nearest_mean         classification: the class whose mean training image is nearest in pixels
centre_points        localization: point at the canvas's centre (the pointing game's prior)
centre_boxes         localization: a 32x32 box at the canvas's centre
template_scores      the nearest mean image read window by window, as the network's window
                     scores are read (template matching): for detection and segmentation
template_objectness  detection: those scores as objectness and a class per window
differing_windows    detection, knowing the canvas: the share of each window's pixels that
                     differ from the plain background colour

A trained classifier beats a random guess whatever it learned; these use what is
known about the data instead (what each class looks like on average, where a pasted
image tends to be), so beating them says the network learned more than that.
"""
import torch
import torch.nn.functional as F

from .canvas import MEAN_COLOUR


def class_means(train_images, train_labels, classes=10):
    """The mean training image of each class, flattened: (classes, C * H * W) floats."""
    flat = train_images.flatten(1).float()
    return torch.stack([flat[train_labels == c].mean(0) for c in range(classes)])


def nearest_mean(train_images, train_labels, images, classes=10):
    """Labels for `images` (N, 3, H, W, uint8): the class whose mean training image is nearest
    (Euclidean distance in pixels)."""
    means = class_means(train_images, train_labels, classes).to(images.device)
    return torch.cdist(images.flatten(1).float(), means).argmin(1)


def _windows(image, jump, window):
    """Every window x window crop of one image (C, S, S) at steps of `jump`: (h, w, C * window**2)."""
    crops = image.float().unfold(1, window, jump).unfold(2, window, jump)  # (C, h, w, window, window)
    return crops.permute(1, 2, 0, 3, 4).flatten(2)


def template_scores(train_images, train_labels, images, jump, window=32, background=MEAN_COLOUR, classes=10):
    """The nearest mean image's scores for every window of `images` (N, 3, S, S, uint8), the
    windows the network scores: (N, classes + 1, h, w), minus the distance in pixels from each
    class's mean training image and, last (the canvas's BACKGROUND label), from the plain
    background. The highest score is the nearest template."""
    templates = torch.cat([class_means(train_images, train_labels, classes).to(images.device),
                           torch.tensor(background, dtype=torch.float32, device=images.device)
                           .repeat_interleave(window * window)[None]])
    scores = []
    for image in images:
        crops = _windows(image, jump, window)
        rows, columns = crops.shape[:2]
        scores.append(-torch.cdist(crops.flatten(0, 1), templates).T.reshape(-1, rows, columns))
    return torch.stack(scores)


def template_objectness(scores, classes=10):
    """The nearest mean image as a detector, from `template_scores`: (objectness, labels), each (N, h, w).

    labels: the class whose mean training image is nearest the window. objectness: the
    window's distance from the plain background over the sum of that and its distance from
    the nearest class mean, in [0, 1]: 0 on plain background, above 0.5 where the window is
    nearer a class mean than the background.
    """
    nearest_class, labels = scores[:, :classes].max(1)
    to_class, to_background = -nearest_class, -scores[:, classes]
    return to_background / (to_background + to_class).clamp_min(1e-9), labels


def differing_windows(images, jump, window=32, background=MEAN_COLOUR):
    """The share of each window's pixels whose colour differs from the plain `background`:
    (N, h, w) in [0, 1], for `images` (N, 3, S, S, uint8). A rule that needs no training
    and works only because the canvas is plain."""
    plain = torch.tensor(background, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    differs = (images != plain).any(1, keepdim=True).float()
    return F.avg_pool2d(differs, window, stride=jump)[:, 0]


def centre_points(count, size):
    """`count` maps (count, size, size) whose highest pixel is the centre: for boxes.pointing_hits."""
    maps = torch.zeros(count, size, size)
    maps[:, size // 2, size // 2] = 1
    return maps


def centre_boxes(count, size, window=32):
    """`count` boxes (x0, y0, x1, y1) of window x window pixels at the centre of a size x size canvas."""
    start = (size - window) // 2
    return torch.tensor([[start, start, start + window, start + window]] * count)
