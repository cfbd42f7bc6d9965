"""GoogLeNet: Szegedy et al. 2015, "Going deeper with convolutions".

Inception follows Fig. 2: four branches on the same input, concatenated along
the channels. Fig. 2(b), the block GoogLeNet uses, puts 1x1 convolutions in
front of the 3x3 and 5x5 convolutions and after the pooling to cut channels;
Fig. 2(a), the naive block (`naive=True`), has no 1x1 reductions.

INCEPTION_TABLE is Table 1, one row per inception block.

googlenet() is the ImageNet network with torchvision's choices, so its
parameter count (6,624,904 without the auxiliary heads) and state_dict keys
equal torchvision's googlenet(aux_logits=False):
  - every convolution is BasicConv2d: conv without bias, batch norm
    (eps 0.001), ReLU; the paper has no batch norm and puts local response
    normalization in the stem, which torchvision leaves out;
  - the branch the paper gives a 5x5 convolution uses a 3x3 one. Pass
    branch3_kernel=5 for the paper's 5x5 (the parameter count then differs).

cifar_googlenet() is the CIFAR-10 adaptation common since kuangliu's
pytorch-cifar: a 3x3 stem to 192 channels with no downsampling in front of
inception(3a), then Table 1's blocks on 32, 16 and 8 pixel maps.
"""
import torch
import torch.nn as nn

from ._registry import register
from .init import he_initialize

# Table 1: name: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


class BasicConv2d(nn.Module):
    """Convolution (no bias: batch norm has one), batch norm, ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches on one input, concatenated (Fig. 2).

    branch1: 1x1 conv
    branch2: 1x1 reduce -> 3x3 conv
    branch3: 1x1 reduce -> branch3_kernel conv (paper: 5x5; torchvision: 3x3)
    branch4: 3x3 max pool (stride 1) -> 1x1 pool projection

    naive=True is Fig. 2(a): 1x1, 3x3 and branch3_kernel convolutions and the
    pooling straight on the input, no reductions; the reduce and pool
    projection widths are ignored and the pooling branch passes all
    in_channels through, so out_channels grows by in_channels.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 branch3_kernel=3, naive=False):
        super().__init__()
        pad = branch3_kernel // 2
        pool = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        if naive:
            self.branch2 = BasicConv2d(in_channels, ch3x3, 3, padding=1)
            self.branch3 = BasicConv2d(in_channels, ch5x5, branch3_kernel, padding=pad)
            self.branch4 = pool
            self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels
        else:
            self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
            self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1),
                                         BasicConv2d(ch5x5red, ch5x5, branch3_kernel, padding=pad))
            self.branch4 = nn.Sequential(pool, BasicConv2d(in_channels, pool_proj, 1))
            self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.in_channels = in_channels

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on inception(4a) and (4d) (section 5), as torchvision sizes it:
    4x4 average pool, 1x1 conv to 128, fc 1024, dropout 0.7, fc to the classes."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.conv = BasicConv2d(in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(self.pool(x)).flatten(1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


STEM_CHANNELS = 192  # the channels that enter inception (3a) in Table 1


def _inception_blocks(names, in_channels, scale=1.0, branch3_kernel=3):
    """Table 1's rows `names` as Inception blocks, their channels times `scale`, chained;
    returns (blocks, out_channels)."""
    blocks = []
    for name in names:
        row = [max(1, round(c * scale)) for c in INCEPTION_TABLE[name]]
        blocks.append(Inception(in_channels, *row, branch3_kernel=branch3_kernel))
        in_channels = blocks[-1].out_channels
    return blocks, in_channels



class GoogLeNet(nn.Module):
    """Table 1 on 224x224 ImageNet images.

    With aux_logits=True the model returns (logits, aux1, aux2) in training
    mode and logits alone in eval mode.
    """

    def __init__(self, num_classes=1000, aux_logits=False, branch3_kernel=3, dropout=0.2):
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(3, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        (self.inception3a, self.inception3b), c = _inception_blocks(["3a", "3b"], 192, branch3_kernel=branch3_kernel)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        blocks4, c = _inception_blocks(["4a", "4b", "4c", "4d", "4e"], c, branch3_kernel=branch3_kernel)
        self.inception4a, self.inception4b, self.inception4c, self.inception4d, self.inception4e = blocks4
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        (self.inception5a, self.inception5b), c = _inception_blocks(["5a", "5b"], c, branch3_kernel=branch3_kernel)
        if aux_logits:
            self.aux1 = InceptionAux(self.inception4a.out_channels, num_classes)
            self.aux2 = InceptionAux(self.inception4d.out_channels, num_classes)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)
        he_initialize(self, mode="fan_out")  # torchvision's choice

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux_logits and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux_logits and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if aux1 is not None:
            return logits, aux1, aux2
        return logits


class CifarGoogLeNet(nn.Module):
    """Table 1's inception blocks on 32x32 images.

    The ImageNet stem (7x7/2 conv, pools, 3x3 conv: 224 -> 28 pixels) becomes
    one 3x3 conv to 192 channels, so inception(3a) sees 32x32 maps; the max
    pools between the stages leave 16x16 for (4a)-(4e) and 8x8 for (5a)-(5b).
    `width` is the stem's channel count, 192 as in Table 1 (the course's other
    models also take the channels of their first layer as `width`); Table 1's
    channels scale with it, width / 192.
    """

    def __init__(self, width=STEM_CHANNELS, num_classes=10, branch3_kernel=3, dropout=0.2):
        super().__init__()
        scale = width / STEM_CHANNELS
        stem_channels = max(1, round(width))
        self.stem = BasicConv2d(3, stem_channels, 3, padding=1)
        blocks, c = _inception_blocks(["3a", "3b"], stem_channels, scale, branch3_kernel)
        self.inception3 = nn.Sequential(*blocks)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, padding=1)
        blocks, c = _inception_blocks(["4a", "4b", "4c", "4d", "4e"], c, scale, branch3_kernel)
        self.inception4 = nn.Sequential(*blocks)
        self.maxpool4 = nn.MaxPool2d(3, stride=2, padding=1)
        blocks, c = _inception_blocks(["5a", "5b"], c, scale, branch3_kernel)
        self.inception5 = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)
        he_initialize(self, mode="fan_out")  # torchvision's choice

    def forward(self, x):
        x = self.maxpool3(self.inception3(self.stem(x)))
        x = self.maxpool4(self.inception4(x))
        x = self.inception5(x)
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))


@register
def googlenet(num_classes=1000, aux_logits=False, branch3_kernel=3):
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, branch3_kernel=branch3_kernel)


@register
def cifar_googlenet(width=STEM_CHANNELS, num_classes=10, branch3_kernel=3):
    return CifarGoogLeNet(width=width, num_classes=num_classes, branch3_kernel=branch3_kernel)
