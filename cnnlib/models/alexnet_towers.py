"""AlexNet on two GPUs, as it was trained in 2012: Krizhevsky et al., Figure 2 and Section 3.2.

Each GPU holds one tower: half of every layer's kernels and half of every fully
connected layer's neurons. "The GPUs communicate only in certain layers": the
kernels of conv3 read the maps of both towers, and so does every neuron of
the fully connected layers; conv2, conv4 and conv5 read only their own
tower's maps. Everything else stays on its GPU.

This is model parallelism: the model, not the batch, is split, and each tower
sends its maps to the other where the layers cross. On one device the same
network is a grouped convolution (alexnet.alexnet_2012 with groups=2), and
with the same weights the two compute the same function, with one difference
from the paper that only the towers reproduce: local response normalization
sums over five neighbouring maps of the same GPU, so on two GPUs its window
stops at the tower's edge.

`transfers_per_image` counts what crosses between the towers in one forward
pass (the backward pass sends the gradients of the same tensors back).
"""
import torch
import torch.nn as nn

from ._registry import register
from .alexnet import CIFAR_CONVS, PAPER_CONVS, local_response_norm, max_pool
from .init import he_initialize, initialize_classifier


class Tower(nn.Module):
    """One GPU's half: its share of each convolution, and of each fully connected layer."""

    def __init__(self, rows, scale, lrn, overlapping_pool, pool_padding, pool_size, hidden, classes, dropout):
        super().__init__()
        self.convs, self.after = nn.ModuleList(), nn.ModuleList()
        c_in = 3
        for i, row in enumerate(rows):
            c_out = int(row.channels * scale) // 2
            reads = 2 * c_in if i > 0 and not row.split else c_in  # a crossing row reads both towers' maps
            self.convs.append(nn.Conv2d(reads, c_out, row.kernel, row.stride, row.padding))
            after = [nn.ReLU(inplace=True)]
            if lrn and row.lrn:
                after.append(local_response_norm())  # over this tower's maps only, as on its GPU
            if row.pool:
                after.append(max_pool(overlapping_pool, pool_padding))
            self.after.append(nn.Sequential(*after))
            c_in = c_out
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        # Dropout where cnnlib's one-device AlexNet has it (before FC6 and FC7, as torchvision),
        # on this tower's own part before it is sent: both towers see one mask.
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc6 = nn.Linear(2 * c_in * pool_size * pool_size, hidden // 2)
        self.fc7 = nn.Linear(hidden, hidden // 2)
        self.fc8 = nn.Linear(hidden, classes)


class TwoTowerAlexNet(nn.Module):
    """AlexNet with its towers on `devices` (two devices, or the same one twice).

    The input is copied to both towers; the output is gathered on the first tower's device.
    """

    placed = True  # fit leaves it where it is: it puts its towers on their devices itself

    def __init__(self, rows, scale=1.0, devices=None, num_classes=1000, hidden=4096, pool_size=6,
                 lrn=True, overlapping_pool=True, pool_padding=0, dropout=0.5):
        super().__init__()
        if num_classes % 2 or hidden % 2:
            raise ValueError("the two towers split the classes and the hidden neurons in halves: use even numbers")
        self.config = dict(rows=list(rows), scale=scale, num_classes=num_classes, hidden=hidden,
                           pool_size=pool_size, lrn=lrn, overlapping_pool=overlapping_pool,
                           pool_padding=pool_padding, dropout=dropout)
        self.rows = list(rows)
        self.devices = tuple(torch.device(d) for d in (devices or default_devices()))
        self.towers = nn.ModuleList(
            Tower(self.rows, scale, lrn, overlapping_pool, pool_padding, pool_size, hidden, num_classes // 2,
                  dropout) for _ in self.devices)
        if not next(self.parameters()).is_meta:  # built for shapes only (torch.device("meta")): nothing to move
            for tower, device in zip(self.towers, self.devices):
                tower.to(device)
        for tower in self.towers:
            he_initialize(tower, mode="fan_in", layers=(nn.Conv2d, nn.Linear))
            initialize_classifier(tower.fc8)
        self.sent = 0  # numbers that crossed between the towers in the last forward pass

    def _cross(self, a, b):
        """Both towers' tensors, concatenated in tower order, on each tower's device: what the GPUs exchange."""
        self.sent += a.numel() + b.numel()
        return torch.cat([a, b.to(a.device)], 1), torch.cat([a.to(b.device), b], 1)

    def forward(self, x):
        self.sent = 0
        towers = tuple(self.towers)
        h = (x.to(self.devices[0]), x.to(self.devices[1]))
        for i, row in enumerate(self.rows):
            if i > 0 and not row.split:
                h = self._cross(*h)
            h = tuple(tower.after[i](tower.convs[i](t)) for tower, t in zip(towers, h))
        h = tuple(tower.avgpool(t).flatten(1) for tower, t in zip(towers, h))
        for layer in ("fc6", "fc7"):
            h = self._cross(*(tower.drop(t) for tower, t in zip(towers, h)))
            h = tuple(torch.relu(getattr(tower, layer)(t)) for tower, t in zip(towers, h))
        h = self._cross(*h)
        h = tuple(tower.fc8(t) for tower, t in zip(towers, h))
        return torch.cat([h[0], h[1].to(self.devices[0])], 1)

    def transfers_per_image(self, input_size):
        """Numbers sent between the towers for one image in a forward pass, from the shapes alone
        (a twin on PyTorch's meta device, which has shapes and no memory)."""
        with torch.device("meta"):
            twin = type(self)(devices=("meta", "meta"), **self.config)
        twin(torch.empty(1, *input_size, device="meta"))
        return twin.sent

    def load_grouped(self, grouped):
        """Take the weights of a one-device grouped AlexNet (alexnet_2012, or cifar_alexnet with
        groups=2): tower A gets the first half of every layer's kernels and neurons, tower B the second.
        The orders agree: a crossing layer reads tower A's channels, then B's, on one device as here."""
        convs = [m for m in grouped.features if isinstance(m, nn.Conv2d)]
        linears = [m for m in grouped.classifier if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for half, tower in enumerate(self.towers):
                for source, mine in zip(convs + linears, [*tower.convs, tower.fc6, tower.fc7, tower.fc8]):
                    out = source.weight.shape[0] // 2
                    mine.weight.copy_(source.weight[half * out:(half + 1) * out])
                    mine.bias.copy_(source.bias[half * out:(half + 1) * out])
        return self


def default_devices():
    """Two GPUs when there are two, as in 2012; else both towers on the one device there is."""
    if torch.cuda.is_available() and torch.cuda.device_count() >= 2:
        return ("cuda:0", "cuda:1")
    return ("cuda:0",) * 2 if torch.cuda.is_available() else ("cpu", "cpu")


@register
def alexnet_2012_towers(num_classes=1000, devices=None, dropout=0.5):
    """The 2012 paper's AlexNet with its two towers on two devices (60,965,224 parameters)."""
    return TwoTowerAlexNet(PAPER_CONVS, devices=devices, num_classes=num_classes, dropout=dropout)


@register
def cifar_alexnet_towers(width=64, num_classes=10, devices=None, lrn=True, overlapping_pool=True,
                         dropout=0.5):
    """cifar_alexnet as two towers on two devices (cifar_alexnet with groups=2 on one)."""
    return TwoTowerAlexNet(CIFAR_CONVS, scale=width / 64, devices=devices, num_classes=num_classes,
                           hidden=16 * width, pool_size=4, lrn=lrn, overlapping_pool=overlapping_pool,
                           pool_padding=1, dropout=dropout)
