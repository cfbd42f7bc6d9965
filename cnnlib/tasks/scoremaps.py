"""A classifier with global average pooling, read as a map of class scores.

Such a classifier computes feature maps f (C channels on an h x w map),
averages each channel over the map and applies a linear layer (W, b):

    logits = W mean(f) + b = mean(W f + b)

so W f + b, the linear layer applied at every unit (a 1x1 convolution), is
a map of class scores whose average is exactly the logits. Without b it is
the class activation map of Zhou et al. (2016, CAM). Nothing in the
convolutions depends on the input's size, so on a larger canvas the same
weights give a larger map: the classifier read as a fully convolutional
network (Sermanet et al. 2014, OverFeat; Long et al. 2015, FCN). Two readings:

- `unit_scores`: W f + b at every unit, one vote per unit (CAM, plus b);
- `window_scores`: the votes averaged over every window of as many units as
  a 32x32 image gives, i.e. the whole classifier applied to every 32x32 crop
  of the canvas at steps of the effective stride (the jump). On a 32x32
  input it is the logits themselves.

`Geometry` says where each unit sits on the input (from cnnlib.arith's
receptive fields); `to_pixels` resamples a map to one value per pixel at
those places; `dilated` trades a ResNet's last strides for dilation, for a
finer map from the same weights.
"""
import copy
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import arith
from ..data.batches import normalize
from ..modules import device_of, in_mode

WINDOW = 32  # pixels: the size of the images the classifiers were trained on


def head(model):
    """The global average pooling module and the final linear layer of a GAP classifier."""
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(pools) != 1 or pools[0].output_size not in (1, (1, 1)) or len(linears) != 1:
        raise TypeError(f"{type(model).__name__} is not a classifier with one global average pooling and one "
                        f"linear layer after it (as the course's ResNets and baseline are)")
    return pools[0], linears[0]


@torch.no_grad()
def feature_maps(model, images, batch_size=100):
    """The maps that enter the global average pooling, for uint8 images (N, 3, H, W): (N, C, h, w)."""
    pool, _ = head(model)
    captured = []
    hook = pool.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
    try:
        with in_mode(model):
            for start in range(0, len(images), batch_size):
                model(normalize(images[start:start + batch_size].to(device_of(model))))
    finally:
        hook.remove()
    return torch.cat(captured)


@torch.no_grad()
def classify_units(classifier, features):
    """A linear layer (weight, bias) applied at every unit of `features` (N, C, h, w): (N, outputs, h, w)."""
    return F.conv2d(features, classifier.weight[:, :, None, None], classifier.bias)


def unit_scores(model, images, classifier=None):
    """Class scores at every unit (W f + b): their mean over the map is the model's logits.
    classifier: another linear layer on the same features (e.g. from `with_background`)."""
    return classify_units(classifier or head(model)[1], feature_maps(model, images))


@torch.no_grad()
def class_activation_maps(model, images):
    """Zhou et al.'s CAM: W f at every unit, without the bias (N, classes, h, w)."""
    _, linear = head(model)
    return unit_scores(model, images) - linear.bias[None, :, None, None]


def window_scores(model, images, classifier=None, window=WINDOW):
    """The classifier's logits for every window x window crop, at steps of the jump: (N, outputs, h', w').

    Window (i, j) is the crop whose top-left pixel is (jump * i, jump * j). Units near
    a crop's edge see the canvas around it where the classifier saw zero padding, so
    a window's scores are close to, not equal to, those of the crop on its own.
    """
    features = feature_maps(model, images)
    units = window // Geometry.of(model).jump
    return classify_units(classifier or head(model)[1], F.avg_pool2d(features, units, stride=1))


@dataclass(frozen=True)
class Geometry:
    """Where a score map's units sit on the input: unit k along an axis is centred on
    pixel first_centre + jump * k, and sees field_size pixels around it."""

    jump: int
    first_centre: float
    field_size: int

    @classmethod
    def of(cls, model, input_size=WINDOW):
        field = arith.receptive_field(model, input_size)
        jump, padding, size = (_one(v) for v in (field.jump, field.effective_padding, field.field_size))
        return cls(jump, -padding + (size - 1) / 2, size)

    def centres(self, map_size):
        """The pixel coordinate of each unit's centre along one axis."""
        return [self.first_centre + self.jump * k for k in range(map_size)]


def _one(value):
    if isinstance(value, tuple):
        if value[0] != value[1]:
            raise ValueError(f"the two axes differ ({value}); square maps only")
        return value[0]
    return value


def to_pixels(scores, size, geometry):
    """Resample maps (N, C, h, w) to one value per pixel (N, C, size, size): bilinear
    between unit centres, the nearest unit's value beyond the outermost ones."""
    n, _, h, w = scores.shape
    pixels = torch.arange(size, dtype=scores.dtype, device=scores.device)
    units = (pixels - geometry.first_centre) / geometry.jump  # each pixel's position in units
    # grid_sample's coordinates run from -1 (first unit) to +1 (last unit) with align_corners=True
    gy = 2 * units / max(h - 1, 1) - 1
    gx = 2 * units / max(w - 1, 1) - 1
    y, x = torch.meshgrid(gy, gx, indexing="ij")
    grid = torch.stack((x, y), dim=-1).expand(n, -1, -1, -1)
    return F.grid_sample(scores, grid, mode="bilinear", padding_mode="border", align_corners=True)


def labels_at_units(masks, geometry, map_size):
    """The label of the pixel at each unit's centre: masks (N, H, W) to (N, map_size, map_size)."""
    size = masks.shape[-1]
    pixels = torch.tensor([min(max(round(c), 0), size - 1) for c in geometry.centres(map_size)],
                          device=masks.device)
    return masks[:, pixels][:, :, pixels]


def with_background(model, images, masks, steps=200, lr=0.05):
    """The classifier's linear layer with one more output, "background" (last), fitted on
    canvases so that the network can say "no image here" (the FCN's extra class, Long et
    al. 2015). Only the new row (one weight per channel and a bias) is trained, on every
    unit of `images` labelled by `masks` at its centre; the class rows stay the classifier's.
    """
    _, linear = head(model)
    features = feature_maps(model, images)
    labels = labels_at_units(masks, Geometry.of(model), features.shape[-1])
    class_scores = classify_units(linear, features)
    weight = torch.zeros(1, features.shape[1], 1, 1, device=features.device, requires_grad=True)
    bias = torch.zeros(1, device=features.device, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=lr)
    for _ in range(steps):
        scores = torch.cat([class_scores, F.conv2d(features, weight, bias)], dim=1)
        loss = F.cross_entropy(scores, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    layer = nn.Linear(linear.in_features, linear.out_features + 1).to(features.device)
    with torch.no_grad():
        layer.weight.copy_(torch.cat([linear.weight, weight.view(1, -1)]))
        layer.bias.copy_(torch.cat([linear.bias, bias]))
    return layer.requires_grad_(False)


def dilated(model, stages=1):
    """A copy of a CIFAR ResNet whose last `stages` stages keep the resolution of their
    input: each stride-2 convolution (and shortcut) gets stride 1, and every later 3x3
    convolution a dilation that grows by 2 per stage, so it reads the same pixels as
    before (the "a trous" trick; Chen et al. 2015, DeepLab; Yu and Koltun 2016).
    Same weights, a map 2**stages times finer; its units at every (2**stages)-th
    place are exactly the original's.
    """
    names = [name for name in ("layer1", "layer2", "layer3") if hasattr(model, name)]
    if len(names) != 3 or not 0 <= stages <= 2:
        raise ValueError("dilated takes a CIFAR ResNet (stages layer1..layer3) and stages = 0, 1 or 2")
    model = copy.deepcopy(model)
    rate = 1
    for name in names[len(names) - stages:] if stages else []:
        for block in getattr(model, name):
            _dilate(block.conv1, rate)
            if block.conv1.stride[0] > 1:
                rate *= block.conv1.stride[0]
                block.conv1.stride = (1, 1)
                if block.downsample is not None:
                    _remove_stride(block.downsample)
            _dilate(block.conv2, rate)
    return model


def _dilate(conv, rate):
    conv.dilation = (rate, rate)
    conv.padding = (rate * (conv.kernel_size[0] - 1) // 2,) * 2


def _remove_stride(shortcut):
    if hasattr(shortcut, "stride"):  # option A: subsampling and zero channels
        shortcut.stride = 1
    for conv in (m for m in shortcut.modules() if isinstance(m, nn.Conv2d)):  # option B: a strided 1x1
        conv.stride = (1, 1)
