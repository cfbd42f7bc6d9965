import itertools

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchinfo
import torchvision

from cnnlib import arith, models
from cnnlib.arith import conv, fc, pool


# Models are built once: torchvision's vgg16 alone takes a second or two to initialise.

@pytest.fixture(scope="module")
def alexnet():
    return torchvision.models.alexnet()


@pytest.fixture(scope="module")
def vgg16():
    return torchvision.models.vgg16(init_weights=False)  # counts and shapes do not depend on the init


def build(specs, in_channels=1, ones=False):
    """An nn.Sequential equal to a spec list (channels default to in_channels)."""
    layers, c = [], in_channels
    for s in specs:
        if s.kind == "conv":
            c_out = s.out_channels or c
            layer = nn.Conv2d(s.in_channels or c, c_out, s.kernel, s.stride, s.padding, s.dilation, s.groups, s.bias)
            c = c_out
        elif s.kind == "maxpool":
            layer = nn.MaxPool2d(s.kernel, s.stride, s.padding, s.dilation, ceil_mode=s.ceil_mode)
        else:
            layer = nn.AvgPool2d(s.kernel, s.stride, s.padding, ceil_mode=s.ceil_mode)
        layers.append(layer)
    model = nn.Sequential(*layers)
    if ones:
        for name, p in model.named_parameters():
            nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
    return model


def gradient_support(model, input_size, i, j):
    """Bounding box ((top, bottom), (left, right)) of the input pixels reached by d out[i, j] / d input."""
    x = torch.ones(1, 1, input_size, input_size, dtype=torch.float64, requires_grad=True)
    model(x)[0, 0, i, j].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    return (rows.min().item(), rows.max().item()), (cols.min().item(), cols.max().item())


# 1. Output size

def test_output_size_matches_pytorch_convolution():
    x = torch.zeros(1, 1, 13, 13, device="meta")  # shapes only
    for n, k, s, p, d in itertools.product((5, 8, 13), (1, 2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2)):
        if d * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError, match="does not fit"):
                arith.output_size(n, k, s, p, d)
            continue
        out = F.conv2d(x[..., :n, :n], torch.zeros(1, 1, k, k, device="meta"), stride=s, padding=p, dilation=d)
        assert arith.output_size(n, k, s, p, d) == out.shape[-1], (n, k, s, p, d)


def test_output_size_matches_pytorch_pooling_with_ceil_mode():
    x = torch.zeros(1, 1, 14, 14, device="meta")
    for n, k, s, p, d, ceil in itertools.product((5, 8, 14), (2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2), (False, True)):
        if p > k // 2 or d * (k - 1) + 1 > n + 2 * p:
            continue  # PyTorch refuses these settings
        out = F.max_pool2d(x[..., :n, :n], k, s, p, d, ceil_mode=ceil)
        assert arith.output_size(n, k, s, p, d, ceil) == out.shape[-1], (n, k, s, p, d, ceil)
        if d == 1:
            out = F.avg_pool2d(x[..., :n, :n], k, s, p, ceil_mode=ceil)
            assert arith.output_size(n, k, s, p, 1, ceil) == out.shape[-1], (n, k, s, p, ceil)


# 2-3. Receptive fields

def test_stacked_3x3_convolutions_see_5_and_7_pixels():
    assert arith.receptive_field([conv(3), conv(3)], 32).field_size == 5
    assert arith.receptive_field([conv(3)] * 3, 32).field_size == 7
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    assert arith.receptive_field(module, 32).field_size == 7


def test_dilated_stack_grows_exponentially_as_in_yu_and_koltun():
    for depth in range(1, 6):
        rf = arith.receptive_field(arith.dilated_stack([2**i for i in range(depth)]), 128)
        assert rf.field_size == 2 ** (depth + 1) - 1
        assert rf.map_size == 128  # padding = dilation keeps the size


def test_torchvision_alexnet_and_vgg16_features_match_distill(alexnet, vgg16):
    rf = arith.receptive_field(alexnet.features, 224)
    assert (rf.field_size, rf.jump) == (195, 32)
    rf = arith.receptive_field(vgg16.features, 224)
    assert (rf.field_size, rf.jump, rf.map_size) == (212, 32, 7)
    assert not rf.global_pooling and rf.misaligned == []


def test_presets_agree_with_the_traced_torchvision_models(alexnet, vgg16):
    for stack, model in ((arith.alexnet_stack(), alexnet.features), (arith.vgg_stack(16), vgg16.features)):
        specs, traced = arith.receptive_field(stack), arith.receptive_field(model)
        assert [(r.field_size, r.jump, r.effective_padding, r.map_size) for r in specs.rows] == \
               [(r.field_size, r.jump, r.effective_padding, r.map_size) for r in traced.rows]
        assert [r.parameters for r in specs.rows] == [r.parameters for r in traced.rows]


@pytest.mark.parametrize("depth", [11, 13, 19])
def test_vgg_presets_follow_table_1_as_torchvision_builds_it(depth):
    features = getattr(torchvision.models, f"vgg{depth}")(init_weights=False).features
    specs, traced = arith.receptive_field(arith.vgg_stack(depth)), arith.receptive_field(features)
    assert [(r.field_size, r.jump, r.map_size, r.parameters) for r in specs.rows] == \
           [(r.field_size, r.jump, r.map_size, r.parameters) for r in traced.rows]
    assert [r.name for r in specs.rows][-2:] == [{11: "conv5_2", 13: "conv5_2", 19: "conv5_4"}[depth], "pool5"]


def test_alexnet_preset_follows_the_models_pooling_option():
    for overlapping in (True, False):
        with torch.device("meta"):
            model = models.create("alexnet", overlapping_pool=overlapping).features
        specs = arith.receptive_field(arith.alexnet_stack(overlapping_pool=overlapping))
        assert [(r.field_size, r.jump, r.map_size) for r in specs.rows] == \
               [(r.field_size, r.jump, r.map_size) for r in arith.receptive_field(model).rows]
    # 3x3/2 windows overlap, 2x2/2 tile: the same map sizes, a larger field
    tiled = arith.receptive_field(arith.alexnet_stack(overlapping_pool=False))
    assert tiled.map_size == 6 and tiled.field_size < 195


def test_layers_of_reads_a_linear_as_the_convolution_it_equals_and_refuses_the_unknown():
    layers = arith.layers_of([nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Dropout(), nn.Linear(16 * 5 * 5, 10)])
    assert [layer.kernel for layer in layers] == [3, 5] and layers[1].in_channels == 16
    with pytest.raises(ValueError, match="square map"):
        arith.layers_of([nn.Conv2d(3, 16, 3), nn.Linear(16 * 5 * 6, 10)])
    with pytest.raises(ValueError, match="Upsample"):
        arith.layers_of([nn.Upsample(scale_factor=2)])


def test_field_after_is_distills_recurrence():
    # Distill's eq. for one layer: r = r + (k - 1) * j, j = j * s, P = P + p * j (dilation widens k)
    field = arith.Field(map_size=32, field_size=5, jump=2, effective_padding=2)
    after = field.after(kernel=3, stride=2, padding=1, dilation=2)
    assert after == arith.Field(map_size=15, field_size=5 + (5 - 1) * 2, jump=4, effective_padding=2 + 1 * 2)
    assert after.box(1) == (-4 + 4, -4 + 4 + 13 - 1)


def test_presets_with_classifier_have_torchvisions_parameter_counts(alexnet, vgg16):
    assert arith.receptive_field(arith.vgg_stack(16, classifier=True)).total_parameters == 138_357_544
    assert arith.receptive_field(arith.alexnet_stack(classifier=True)).total_parameters == 61_100_840
    assert sum(p.numel() for p in vgg16.parameters()) == 138_357_544
    assert sum(p.numel() for p in alexnet.parameters()) == 61_100_840


def test_resnet50_field_is_427_before_its_global_pooling():
    model = torchvision.models.resnet50()
    training = model.training
    rf = arith.receptive_field(model, 224)
    assert (rf.field_size, rf.jump, rf.layer) == (427, 32, "layer4.2:add")
    assert rf.global_pooling and rf.global_layer == "avgpool"
    assert "whole input" in rf.summary()
    assert rf.misaligned == []
    assert model.training == training


@pytest.mark.parametrize("build_model", [
    lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
    torchvision.models.densenet121,
    torchvision.models.resnet18,
])
def test_multi_path_torchvision_models_trace_aligned(build_model):
    rf = arith.receptive_field(build_model(), 224)
    assert rf.jump == 32 and rf.map_size == 7
    assert rf.global_pooling and rf.misaligned == []
    assert any(row.kind in ("add", "cat") for row in rf.rows)


@pytest.mark.parametrize("specs", [
    [conv(3), conv(3)],
    [conv(5, stride=2, padding=2), pool(3, stride=2, padding=1, kind="avg"), conv(3, padding=1)],
    [conv(7, stride=2, padding=3), pool(2, kind="avg"), conv(3, dilation=2, padding=2), conv(3, stride=2)],
    arith.dilated_stack((1, 2, 4)),
])
def test_box_is_where_the_gradient_of_an_output_lands(specs):
    model = build(specs, ones=True).double()
    rf = arith.receptive_field(specs, 40)
    assert rf.map_size == model(torch.zeros(1, 1, 40, 40, dtype=torch.float64)).shape[-1]
    last = rf.map_size - 1
    for i, j in [(0, 0), (0, last), (last // 2, last // 2), (last, 1)]:
        assert gradient_support(model, 40, i, j) == rf.box(i, j, clip=True), (i, j)
    start, end = rf.box(0)
    assert end - start + 1 == rf.field_size


class TwoPaths(nn.Module):
    """A stride-2 3x3 conv next to a strided-slice shortcut padded with zero channels (ResNet option A)."""

    def __init__(self, offset):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.offset = offset

    def forward(self, x):
        shortcut = F.pad(x[:, :, self.offset::2, self.offset::2], (0, 0, 0, 0, 0, 1))
        return self.conv(x) + shortcut


def test_option_a_shortcut_is_aligned_and_a_shifted_one_is_not():
    assert arith.receptive_field(TwoPaths(offset=0), 16).misaligned == []
    rf = arith.receptive_field(TwoPaths(offset=1), 16)
    assert len(rf.misaligned) == 2 and "not aligned" in rf.misaligned[0]  # height and width


@pytest.mark.parametrize("offset", [0, 1])
def test_union_of_paths_is_where_the_gradient_lands(offset):
    model = TwoPaths(offset).double()
    nn.init.ones_(model.conv.weight), nn.init.zeros_(model.conv.bias)
    rf = arith.receptive_field(model, 16)
    for i, j in [(0, 0), (3, 4), (7, 7)]:
        assert gradient_support(model, 16, i, j) == rf.box(i, j, clip=True)


def test_padding_with_f_pad_moves_the_field():
    class Padded(nn.Module):
        def forward(self, x):
            return F.conv2d(F.pad(x, (2, 0, 1, 1)), torch.ones(1, 1, 3, 3))

    rf = arith.receptive_field(Padded(), 10, in_channels=1)
    assert rf.effective_padding == (1, 2) and rf.map_size == 10
    assert rf.box(0, 0) == ((-1, 1), (-2, 0))


class DeadBranch(nn.Module):
    """Computes a global sum that only steers Python (no meta tensors then) and never reaches the output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        unused = y.mean((2, 3))  # noqa: F841
        return F.max_pool2d(y, 2) if y.sum().item() > -1e9 else y


def test_only_layers_the_output_depends_on_count():
    model = DeadBranch()
    weight = model.conv.weight.clone()
    rf = arith.receptive_field(model, 32)
    assert [row.name for row in rf.rows] == ["input", "conv", "max_pool2d"]
    assert (rf.field_size, rf.jump, rf.global_pooling) == (4, 2, False)
    assert torch.equal(model.conv.weight, weight)


def test_global_pooling_is_flagged_not_measured():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    rf = arith.receptive_field(model, 32)
    assert rf.global_pooling and rf.global_layer == "1"
    assert (rf.layer, rf.field_size, rf.map_size) == ("0", 3, 30)
    assert any("whole" in note for note in rf.notes)

    class MeanPooled(nn.Module):
        def forward(self, x):
            return F.conv2d(x, torch.ones(4, 3, 3, 3)).mean((2, 3))

    assert arith.receptive_field(MeanPooled(), 16).global_pooling
    assert arith.receptive_field([conv(3, padding=1), pool(8)], 8).global_pooling
    assert arith.receptive_field([conv(3), fc(8 * 6 * 6, 10)], 8).global_pooling
    assert not arith.receptive_field([conv(3), pool(2)], 8).global_pooling


def test_table_and_summary_are_readable():
    rf = arith.receptive_field(arith.vgg_stack(16))
    text = str(rf)
    assert "pool5" in text and "212" in text and "effective stride 32" in text
    assert len(str(rf.table()).splitlines()) == len(rf.rows) + 2


# 4. Parameters and multiply-adds

def test_conv_formulas_match_pytorch():
    for k, c_in, c_out, groups, bias in [(3, 16, 32, 1, True), (5, 8, 8, 8, False), (1, 64, 128, 2, True)]:
        layer = nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias)
        assert arith.conv_parameters(k, c_in, c_out, groups, bias) == sum(p.numel() for p in layer.parameters())
        assert arith.conv_multiply_adds(k, c_in, c_out, 7, 5, groups) == layer.weight.numel() * 7 * 5
    # the lecture notes' V-4: one 5x5 against two 3x3 per channel pair
    assert arith.conv_parameters(5, 1, 1, bias=False) == 25
    assert sum(arith.conv_parameters(3, 1, 1, bias=False) for _ in range(2)) == 18


def test_count_parameters_counts_a_shared_layer_once():
    shared = nn.Conv2d(4, 4, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.BatchNorm2d(4))
    assert arith.count_parameters(model) == 4 * 4 * 9 + 4 + 2 * 4 == sum(p.numel() for p in model.parameters())
    assert arith.count_parameters(nn.ReLU()) == 0


def test_spec_rows_without_channels_have_no_cost():
    rf = arith.receptive_field([conv(3), pool(2)], 32)
    assert rf.rows[1].parameters is None and rf.total_parameters is None
    specs = [conv(3, in_channels=3, out_channels=8), pool(2), conv(3, out_channels=4, bias=False)]
    rf = arith.receptive_field(specs, 32)  # the second conv takes its 8 input channels from the first
    table = arith.parameter_table(build(specs, 3), (3, 32, 32))
    assert rf.total_parameters == sum(p.numel() for p in build(specs, 3).parameters())
    assert (rf.total_parameters, rf.total_multiply_adds) == (table.total_parameters, table.total_multiply_adds)


@pytest.mark.parametrize("name, published", [("alexnet", 61_100_840), ("vgg16", 138_357_544)])
def test_parameter_table_matches_numel_and_torchinfo(name, published, request):
    model = request.getfixturevalue(name)
    # parameters do not depend on the input size; 64 px keeps torchinfo's real forward pass quick
    table = arith.parameter_table(model, (3, 64, 64))
    info = torchinfo.summary(model, input_size=(1, 3, 64, 64), verbose=0)
    assert table.total_parameters == sum(p.numel() for p in model.parameters()) == published == info.total_params
    assert table.total_multiply_adds == info.total_mult_adds


def test_parameter_table_layer_by_layer_against_torchinfo():
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, groups=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )
    table = arith.parameter_table(model, (3, 20, 20))
    info = torchinfo.summary(model, input_size=(1, 3, 20, 20), verbose=0)
    ours = [(row.parameters, row.multiply_adds) for row in table.rows if row.type in ("Conv2d", "Linear")]
    theirs = [(layer.num_params, layer.macs) for layer in info.summary_list if layer.class_name in ("Conv2d", "Linear")]
    assert ours == theirs
    assert table.total_parameters == info.total_params == sum(p.numel() for p in model.parameters())
    bn = next(row for row in table.rows if row.type == "BatchNorm2d")
    assert (bn.parameters, bn.multiply_adds, bn.output_shape) == (32, 16 * 20 * 20, (16, 20, 20))
    assert "total" in str(table)


def test_parameter_table_counts_a_reused_layer_once():
    shared = nn.Conv2d(4, 4, 3, padding=1)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    table = arith.parameter_table(model, (4, 8, 8))
    assert table.total_parameters == sum(p.numel() for p in model.parameters())
    assert table.total_multiply_adds == 2 * arith.conv_multiply_adds(3, 4, 4, 8, 8, bias=True)


# 5. Effective receptive field

def test_effective_field_is_centred_and_inside_the_theoretical_box():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                          *[m for _ in range(6) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())])
    erf = arith.effective_receptive_field(model, (3, 33, 33), batch_size=8)
    assert erf.shape == (33, 33) and erf.max() == 1
    (top, bottom), (left, right) = arith.receptive_field(model, 33).box(16, 16, clip=True)
    assert (top, bottom, left, right) == (9, 23, 9, 23)
    inside = torch.zeros_like(erf, dtype=torch.bool)
    inside[top:bottom + 1, left:right + 1] = True
    assert erf[~inside].abs().max() == 0
    coords = torch.arange(33, dtype=erf.dtype)
    assert abs((erf.sum(1) * coords).sum() / erf.sum() - 16) < 1
    assert abs((erf.sum(0) * coords).sum() / erf.sum() - 16) < 1
    # Luo et al.: the mass gathers in the middle; the inner 7x7 (a quarter of the 15x15 box) holds over half
    assert erf[13:20, 13:20].sum() > 0.5 * erf.sum()


def test_effective_field_wants_a_feature_map():
    with pytest.raises(ValueError, match="feature map"):
        arith.effective_receptive_field(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()), (3, 8, 8))
