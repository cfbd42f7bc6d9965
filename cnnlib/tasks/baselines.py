"""What a learner would try before a CNN: the baselines notebook 07's tasks are held to.

nearest_mean       classification: the class whose mean training image is nearest in pixels
centre_points      localization: point at the canvas's centre (the pointing game's prior)
centre_boxes       localization: a 32x32 box at the canvas's centre

A trained classifier beats a random guess whatever it learned; these use what is
known about the data instead (what each class looks like on average, where a pasted
image tends to be), so beating them says the network learned more than that.
"""
import torch


def nearest_mean(train_images, train_labels, images, classes=10):
    """Labels for `images` (N, 3, H, W, uint8): the class whose mean training image is nearest
    (Euclidean distance in pixels)."""
    flat = train_images.flatten(1).float()
    means = torch.stack([flat[train_labels == c].mean(0) for c in range(classes)])
    return torch.cdist(images.flatten(1).float(), means).argmin(1)


def centre_points(count, size):
    """`count` maps (count, size, size) whose highest pixel is the centre: for boxes.pointing_hits."""
    maps = torch.zeros(count, size, size)
    maps[:, size // 2, size // 2] = 1
    return maps


def centre_boxes(count, size, window=32):
    """`count` boxes (x0, y0, x1, y1) of window x window pixels at the centre of a size x size canvas."""
    start = (size - window) // 2
    return torch.tensor([[start, start, start + window, start + window]] * count)
