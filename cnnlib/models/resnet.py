"""ResNet: He et al. 2016, "Deep residual learning for image recognition",
and He et al. 2016b, "Identity mappings in deep residual networks".

Blocks (post-activation, as in the 2016 paper: the sum comes before the last ReLU):
  BasicBlock   3x3 conv-BN-ReLU, 3x3 conv-BN, add the shortcut, ReLU (Fig. 5 left)
  Bottleneck   1x1 reduce, 3x3, 1x1 expand x4 (Fig. 5 right); the stride sits
               on the 3x3 conv as in torchvision (the paper's first 1x1 had it)
  PreActBlock  BN-ReLU-conv, BN-ReLU-conv, add; nothing after the sum (2016b, Fig. 4e)
Each block takes residual=False to drop the shortcut: the "plain" network of
Fig. 6 with the same layers, for the degradation experiment.

Shortcuts where a block changes the width or the map size (section 3.3):
  ShortcutA    option A: subsample by the stride, zero-pad the new channels; no parameters
  ShortcutB    option B: 1x1 conv with the stride, then batch norm (a projection)
Where nothing changes, the shortcut is the identity.

RESNET_TABLE is Table 1 (ImageNet): the block type and the blocks per stage
at 64, 128, 256, 512 channels; with option B shortcuts the parameter counts
and state_dict keys equal torchvision's resnet18/34/50.

The CIFAR-10 networks follow section 4.2: a 3x3 conv to 16 channels, three
stages of n blocks (2n layers) on 32, 16, 8 pixel maps at 16, 32, 64
channels, global average pooling and a 10-way fc: 6n+2 weighted layers,
option A shortcuts.
"""
import torch.nn as nn
import torch.nn.functional as F

from ._registry import register
from .init import he_initialize


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class ShortcutA(nn.Module):
    """Option A: keep every stride-th pixel, then append zero channels up to out_planes."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.extra_channels = out_planes - in_planes
        self.stride = stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        # F.pad's pairs run from the last dimension: width, height, then channels.
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class ShortcutB(nn.Sequential):
    """Option B: a strided 1x1 convolution and batch norm (torchvision's `downsample`)."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


SHORTCUTS = {"A": ShortcutA, "B": ShortcutB}


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, downsample=None, residual=True):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = downsample  # the shortcut where the shape changes; the name is torchvision's
        self.residual = residual

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None, residual=True):
        super().__init__()
        self.conv1 = conv1x1(in_planes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.residual = residual

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class PreActBlock(nn.Module):
    """Pre-activation basic block. Where the shape changes, the shortcut starts
    from the normalized, activated input, as in the authors' code for 2016b."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1, downsample=None, residual=True):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.residual = residual

    def forward(self, x):
        out = self.relu(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        if self.residual:
            out = out + shortcut
        return out


def _make_layer(block, in_planes, planes, blocks, stride=1, shortcut="B", residual=True):
    """One stage of Table 1: `blocks` blocks of `planes` channels, the first with `stride`.
    Returns the stage and its output channels."""
    out_planes = planes * block.expansion
    downsample = None
    if residual and (stride != 1 or in_planes != out_planes):
        downsample = SHORTCUTS[shortcut](in_planes, out_planes, stride)
    layers = [block(in_planes, planes, stride, downsample, residual)]
    layers += [block(out_planes, planes, residual=residual) for _ in range(1, blocks)]
    return nn.Sequential(*layers), out_planes



# Table 1: name: (block, blocks in conv2_x, conv3_x, conv4_x, conv5_x)
RESNET_TABLE = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
}


class ResNet(nn.Module):
    """Table 1 on 224x224 ImageNet images: 7x7/2 conv, 3x3/2 max pool,
    four stages at 64-512 channels (stride 2 from the second on), average pool, fc."""

    def __init__(self, block, layers, num_classes=1000, shortcut="B", residual=True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        c = 64
        self.layer1, c = _make_layer(block, c, 64, layers[0], 1, shortcut, residual)
        self.layer2, c = _make_layer(block, c, 128, layers[1], 2, shortcut, residual)
        self.layer3, c = _make_layer(block, c, 256, layers[2], 2, shortcut, residual)
        self.layer4, c = _make_layer(block, c, 512, layers[3], 2, shortcut, residual)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        he_initialize(self, mode="fan_out")  # torchvision's choice

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(nn.Module):
    """Section 4.2: 6n+2 layers on 32x32 images.

    width: channels of the first stage (16 in the paper; the stages have
    width, 2*width, 4*width). preact=True uses PreActBlock and adds the final
    BN-ReLU that pre-activation needs before pooling (2016b). residual=False
    gives the plain network (no shortcuts at all).
    """

    def __init__(self, depth=20, width=16, shortcut="A", preact=False, residual=True, num_classes=10):
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n+2 (20, 32, 44, 56, 110, ...), got {depth}")
        n = (depth - 2) // 6
        block = PreActBlock if preact else BasicBlock
        if preact:  # the first block normalizes and activates its input itself
            self.stem = conv3x3(3, width)
        else:
            self.stem = nn.Sequential(conv3x3(3, width), nn.BatchNorm2d(width), nn.ReLU())
        c = width
        self.layer1, c = _make_layer(block, c, width, n, 1, shortcut, residual)
        self.layer2, c = _make_layer(block, c, 2 * width, n, 2, shortcut, residual)
        self.layer3, c = _make_layer(block, c, 4 * width, n, 2, shortcut, residual)
        self.final_act = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU()) if preact else nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        he_initialize(self, mode="fan_out")  # torchvision's choice

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(self.avgpool(self.final_act(x)).flatten(1))


@register
def resnet18(num_classes=1000):
    return ResNet(*RESNET_TABLE["resnet18"], num_classes=num_classes)


@register
def resnet34(num_classes=1000):
    return ResNet(*RESNET_TABLE["resnet34"], num_classes=num_classes)


@register
def resnet50(num_classes=1000):
    return ResNet(*RESNET_TABLE["resnet50"], num_classes=num_classes)


@register
def cifar_resnet20(width=16, shortcut="A", preact=False, num_classes=10):
    return CifarResNet(20, width, shortcut, preact, num_classes=num_classes)


@register
def cifar_resnet32(width=16, shortcut="A", preact=False, num_classes=10):
    return CifarResNet(32, width, shortcut, preact, num_classes=num_classes)


@register
def cifar_resnet44(width=16, shortcut="A", preact=False, num_classes=10):
    return CifarResNet(44, width, shortcut, preact, num_classes=num_classes)


@register
def cifar_resnet56(width=16, shortcut="A", preact=False, num_classes=10):
    return CifarResNet(56, width, shortcut, preact, num_classes=num_classes)


@register
def cifar_resnet110(width=16, shortcut="A", preact=False, num_classes=10):
    return CifarResNet(110, width, shortcut, preact, num_classes=num_classes)


@register
def cifar_plain20(width=16, num_classes=10):
    return CifarResNet(20, width, residual=False, num_classes=num_classes)


@register
def cifar_plain32(width=16, num_classes=10):
    return CifarResNet(32, width, residual=False, num_classes=num_classes)


@register
def cifar_plain44(width=16, num_classes=10):
    return CifarResNet(44, width, residual=False, num_classes=num_classes)


@register
def cifar_plain56(width=16, num_classes=10):
    return CifarResNet(56, width, residual=False, num_classes=num_classes)


@register
def cifar_plain110(width=16, num_classes=10):
    return CifarResNet(110, width, residual=False, num_classes=num_classes)
