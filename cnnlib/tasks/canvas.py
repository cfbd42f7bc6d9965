"""Canvases: CIFAR images pasted at known places on a larger plain image.

CIFAR-10 has one label per image and no boxes or masks, so the tasks beyond
classification (localization, detection, segmentation) need images whose
answer is known. A canvas is a size x size image of one plain colour with
`count` test images pasted at random, non-overlapping places; the canvas
carries its own ground truth: each pasted image's box and class, and a mask
that gives every pixel the class of the image it belongs to, or BACKGROUND.
The "object" is the whole pasted square: CIFAR has no silhouettes.

Everything is drawn from one seeded generator, so the same seed gives the
same canvases on any machine.
"""
from dataclasses import dataclass

import torch

from ..data.batches import MEAN

BACKGROUND = 10  # the mask's label for pixels outside every pasted image (CIFAR's classes are 0..9)
MEAN_COLOUR = tuple(round(255 * m) for m in MEAN)  # normalizes to zero: the network's "no signal"


@dataclass
class Canvas:
    """One canvas and its ground truth (tensors on the device of the pasted images).

    image:   uint8 (3, size, size)
    boxes:   int64 (count, 4), each (x0, y0, x1, y1) in pixels, x1 and y1 exclusive
    labels:  int64 (count,), the pasted images' classes
    mask:    int64 (size, size), the class of each pixel, BACKGROUND outside the boxes
    sources: int64 (count,), the indices of the pasted images in the split they came from
    """

    image: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    mask: torch.Tensor
    sources: torch.Tensor

    @property
    def size(self):
        return self.image.shape[-1]


def make_canvases(images, labels, number, size=128, count=4, seed=0, gap=0, colour=MEAN_COLOUR):
    """`number` canvases of size x size pixels, each with `count` of `images` pasted on `colour`.

    images: uint8 (N, 3, h, w), labels: (N,); no image is pasted twice (N >= number * count).
    gap: the least number of background pixels between two pasted images.
    """
    n, _, h, w = images.shape
    if number * count > n:
        raise ValueError(f"{number} canvases of {count} images need {number * count} images, got {n}")
    if h > size or w > size:
        raise ValueError(f"a {h}x{w} image does not fit on a {size}x{size} canvas")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)
    canvases = []
    for i in range(number):
        sources = order[i * count:(i + 1) * count]
        corners = _place(count, (h, w), size, gap, generator)
        canvases.append(_paste(images, labels, sources.to(images.device), corners, size, colour))
    return canvases


def _place(count, shape, size, gap, generator, layouts=100, draws=50):
    """Top-left corners (y, x) of `count` boxes of `shape` inside the canvas, at least `gap` apart:
    one box at a time at a random free place; a layout that leaves no room for the next box
    (after `draws` tries) is started over."""
    h, w = shape

    def free(y, x, corners):
        return all(y >= y2 + h + gap or y2 >= y + h + gap or x >= x2 + w + gap or x2 >= x + w + gap
                   for y2, x2 in corners)

    for _ in range(layouts):
        corners = []
        while len(corners) < count:
            for _ in range(draws):
                y = int(torch.randint(0, size - h + 1, (), generator=generator))
                x = int(torch.randint(0, size - w + 1, (), generator=generator))
                if free(y, x, corners):
                    corners.append((y, x))
                    break
            else:
                break
        if len(corners) == count:
            return corners
    raise ValueError(f"could not place {count} images of {h}x{w} on a {size}x{size} canvas with gap {gap}: "
                     f"use a larger canvas, fewer images or a smaller gap")


def _paste(images, labels, sources, corners, size, colour):
    device = images.device
    _, c, h, w = images.shape
    image = torch.tensor(colour, dtype=torch.uint8, device=device).view(c, 1, 1).repeat(1, size, size)
    mask = torch.full((size, size), BACKGROUND, dtype=torch.int64, device=device)
    boxes = []
    for source, (y, x) in zip(sources.tolist(), corners):
        image[:, y:y + h, x:x + w] = images[source]
        mask[y:y + h, x:x + w] = labels[source]
        boxes.append((x, y, x + w, y + h))
    boxes = torch.tensor(boxes, dtype=torch.int64, device=device).view(-1, 4)
    return Canvas(image, boxes, labels[sources].to(torch.int64), mask, sources)


def stack(canvases):
    """The canvases' images as one uint8 batch (N, 3, size, size)."""
    return torch.stack([c.image for c in canvases])
