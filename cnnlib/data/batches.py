"""Training batches made on the device: shuffle, random crop, flip, normalize.

The split already sits on the training device as uint8. Each epoch draws,
for every image, a crop offset (dy, dx) in [0, 2*padding] and a coin for the
horizontal flip. `random_crop_flip` is the readable reference: one gather
that reads each image's window. `Batches` makes the same crops faster: it
pads the split (and a mirrored copy) once, and each epoch cuts all the
images that share an (dy, dx, flip) with one slice (2 x 9 x 9 = 162 groups),
so per batch only an index_select and the normalization remain.
"""
import functools

import torch
import torch.nn.functional as F

# Per-channel statistics of the original CIFAR-10 training set.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


@functools.lru_cache(maxsize=None)
def _constants(device):
    """Mean and 1/std on the 0..255 scale, made once per device: creating them
    from Python lists at every batch would copy host to device each time."""
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1) * 255
    inverse_std = 1 / (torch.tensor(STD, device=device).view(1, 3, 1, 1) * 255)
    return mean, inverse_std


def normalize(images, memory_format=torch.contiguous_format):
    """uint8 (N, 3, H, W) in [0, 255] to float32, standardized with CIFAR-10's channel statistics."""
    mean, inverse_std = _constants(images.device)
    return images.to(dtype=torch.float32, memory_format=memory_format).sub_(mean).mul_(inverse_std)


def denormalize(images):
    """The inverse of normalize, as floats in [0, 1] for plotting."""
    mean, inverse_std = _constants(images.device)
    return ((images / inverse_std + mean) / 255).clamp(0, 1)


def draw_crops(n, padding=4, generator=None, device="cpu"):
    """Each image's crop offsets dy, dx in [0, 2*padding] and flip coin, as three (n,) tensors."""
    generator = generator_on(device, generator)
    dy = torch.randint(0, 2 * padding + 1, (n,), device=device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), device=device, generator=generator)
    flip = torch.rand((n,), device=device, generator=generator) < 0.5
    return dy, dx, flip


def random_crop_flip(images, padding=4, generator=None, crops=None):
    """Random crops of zero-padded images, half of them mirrored: one gather for the batch.

    Each image gets its own offset (dy, dx) in [0, 2*padding] and its own coin
    for the flip; a mirrored crop just reads its columns right to left.
    `crops` = (dy, dx, flip) uses given draws instead of new ones.
    """
    n, c, h, w = images.shape
    device = images.device
    dy, dx, flip = crops if crops is not None else draw_crops(n, padding, generator, device)
    padded = F.pad(images, (padding,) * 4)
    rows = dy[:, None] + torch.arange(h, device=device)
    cols = dx[:, None] + torch.arange(w, device=device)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def crop_flip_grouped(padded, mirrored, dy, dx, flip, padding=4):
    """The crops of random_crop_flip, cut from a split padded once (`padded`)
    and its mirror image (`mirrored` = padded.flip(3)): the images that share
    an offset and a coin are cut together, one slice per group.

    Returns (crops, source): crops[j] is the crop of image source[j]; the
    images come out grouped, which does not matter once batches are shuffled.
    """
    n, c, h, w = padded.shape
    h, w, side = h - 2 * padding, w - 2 * padding, 2 * padding + 1
    key = (flip.long() * side + dy) * side + dx
    source = torch.argsort(key, stable=True)
    counts = torch.bincount(key, minlength=2 * side * side).tolist()  # one sync per epoch, not per batch
    crops = torch.empty((n, c, h, w), dtype=padded.dtype, device=padded.device)
    start = 0
    for group, count in enumerate(counts):
        if count:
            mirror, offset = divmod(group, side * side)
            y, x = divmod(offset, side)
            if mirror:  # column x of a mirrored crop is column 2*padding - x of the mirrored split
                window = mirrored[:, :, y:y + h, 2 * padding - x:2 * padding - x + w]
            else:
                window = padded[:, :, y:y + h, x:x + w]
            torch.index_select(window, 0, source[start:start + count], out=crops[start:start + count])
            start += count
    return crops, source


def generator_on(device, generator):
    """`generator` if it already draws on `device`; else a generator on `device`
    seeded from it, so a CPU generator can drive batches that live on a GPU."""
    if generator is None or generator.device == torch.device(device):
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)


class Batches:
    """Iterate (normalized float images, labels) over a split that already sits on the device."""

    def __init__(self, images, labels, batch_size, shuffle, augment, drop_last, generator=None,
                 padding=4, memory_format=torch.contiguous_format, shard=(0, 1)):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if drop_last and batch_size > len(labels):
            raise ValueError(f"batch_size {batch_size} is larger than the {len(labels):,} training images: "
                             f"no full batch can be made; use a batch size of at most {len(labels):,}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.drop_last, self.padding, self.memory_format = drop_last, padding, memory_format
        self.generator = generator_on(images.device, generator)
        self.shard = shard  # (rank, processes): each global batch is split, this process takes its part
        self._padded = self._mirrored = None  # made at the first augmented epoch

    def __len__(self):
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch(self):
        """This epoch's (images, labels): the split itself, or a fresh crop and flip of every image."""
        if not self.augment:
            return self.images, self.labels
        if self._padded is None:
            self._padded = F.pad(self.images, (self.padding,) * 4)
            self._mirrored = self._padded.flip(3)
        crops = draw_crops(len(self.images), self.padding, self.generator, self.images.device)
        images, source = crop_flip_grouped(self._padded, self._mirrored, *crops, padding=self.padding)
        return images, self.labels.index_select(0, source)

    def __iter__(self):
        return self.iterate()

    def iterate(self, skip=0):
        """One epoch's batches from batch number `skip` on. The epoch's crops and order
        are drawn now, when this is called, not at the first batch: a run resumed
        inside an epoch puts back the random state of the epoch's start, calls this,
        then puts back the state it had at batch `skip`."""
        images, labels = self.epoch()
        order = None
        if self.shuffle:
            order = torch.randperm(len(labels), device=labels.device, generator=self.generator)
        return self._batches(images, labels, order, skip)

    def _batches(self, images, labels, order, skip):
        size = self.batch_size
        for b in range(skip, len(self)):
            if order is not None:
                index = order[b * size:(b + 1) * size]
                rank, processes = self.shard
                if processes > 1:
                    part = size // processes
                    index = index[rank * part:(rank + 1) * part]
                batch, batch_labels = images.index_select(0, index), labels.index_select(0, index)
            else:
                batch, batch_labels = images[b * size:(b + 1) * size], labels[b * size:(b + 1) * size]
            yield normalize(batch, self.memory_format), batch_labels
