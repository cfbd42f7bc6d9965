"""GoogLeNet, ResNet and DenseNet against torchvision, the papers' numbers and
parameter counts worked out by hand from each paper's layer list."""
import pytest
import torch
import torch.nn as nn
import torchvision

from cnnlib import arith, models
from cnnlib.models.densenet import DenseBlock
from cnnlib.models.googlenet import INCEPTION_TABLE, Inception
from cnnlib.models.resnet import BasicBlock, PreActBlock, ShortcutA


count_params = arith.count_parameters


def count_weighted_layers(model):
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# --- ImageNet configurations: torchvision's counts, keys and outputs -----------

TORCHVISION_PAIRS = {
    # name: (our builder options, torchvision model, published count)
    "googlenet": ({}, lambda: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False), 6_624_904),
    "resnet18": ({}, lambda: torchvision.models.resnet18(weights=None), 11_689_512),
    "resnet34": ({}, lambda: torchvision.models.resnet34(weights=None), 21_797_672),
    "resnet50": ({}, lambda: torchvision.models.resnet50(weights=None), 25_557_032),
    "densenet121": ({}, lambda: torchvision.models.densenet121(weights=None), 7_978_856),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PAIRS))
def test_imagenet_model_equals_torchvision(name):
    options, build_reference, published = TORCHVISION_PAIRS[name]
    ours, reference = models.create(name, **options), build_reference()
    assert count_params(ours) == count_params(reference) == published
    assert shapes(ours) == shapes(reference)
    # Same keys and shapes, so torchvision's weights load; then the outputs must agree.
    ours.load_state_dict(reference.state_dict())
    ours.eval(), reference.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = ours(x)
        assert out.shape == (1, 1000)
        torch.testing.assert_close(out, reference(x), rtol=1e-4, atol=1e-4)


def test_googlenet_aux_heads_match_torchvision_and_return_in_training():
    ours = models.create("googlenet", aux_logits=True)
    reference = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
    assert count_params(ours) == count_params(reference)
    assert shapes(ours) == shapes(reference)
    logits, aux1, aux2 = ours.train()(torch.randn(2, 3, 64, 64))
    assert logits.shape == aux1.shape == aux2.shape == (2, 1000)
    with torch.no_grad():
        assert ours.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


# --- GoogLeNet: Table 1 and the inception block ---------------------------------

def test_inception_table_outputs_match_table1_output_sizes():
    table1_output_channels = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512,
                              "4d": 528, "4e": 832, "5a": 832, "5b": 1024}
    c = 192
    for name, row in INCEPTION_TABLE.items():
        block = Inception(c, *row)
        assert block.out_channels == table1_output_channels[name]
        with torch.no_grad():
            assert block.eval()(torch.randn(1, c, 4, 4)).shape == (1, block.out_channels, 4, 4)
        c = block.out_channels


def test_naive_inception_3a_has_more_parameters_than_reduced():
    row = INCEPTION_TABLE["3a"]
    for kernel in (3, 5):
        reduced = Inception(192, *row, branch3_kernel=kernel)
        naive = Inception(192, *row, branch3_kernel=kernel, naive=True)
        assert count_params(naive) > count_params(reduced)
    # Fig. 2(a): the pooling branch passes all 192 input channels through.
    assert naive.out_channels == 64 + 128 + 32 + 192
    with torch.no_grad():
        assert naive.eval()(torch.randn(1, 192, 8, 8)).shape == (1, 416, 8, 8)
    # Naive 3x3 and 5x5 weights on 192 channels (BN: 2 per channel, no conv bias).
    assert count_params(naive) == 192 * (64 + 9 * 128 + 25 * 32) + 2 * (64 + 128 + 32)


def test_paper_5x5_branch_adds_exactly_the_extra_kernel_weights():
    extra = sum(16 * red * out for _, _, _, red, out, _ in INCEPTION_TABLE.values())
    assert count_params(models.create("googlenet", branch3_kernel=5)) == 6_624_904 + extra


def test_cifar_googlenet_width_scales_channels():
    full, quarter = models.create("cifar_googlenet"), models.create("cifar_googlenet", width=48)
    assert full.fc.in_features == 1024 and quarter.fc.in_features == 256
    assert count_params(quarter) < count_params(full) / 10


# --- ResNet -------------------------------------------------------------------------

def cifar_resnet_params(n, w=16, classes=10, projection=False):
    """Section 4.2 by hand: 3x3 convs without bias, 2 BN parameters per channel."""
    total = 27 * w + 2 * w  # stem conv + BN
    c_in = w
    for c in (w, 2 * w, 4 * w):
        total += 9 * c_in * c + 9 * c * c + 4 * c  # first block
        total += (n - 1) * (18 * c * c + 4 * c)  # the other blocks
        if projection and c_in != c:
            total += c_in * c + 2 * c  # 1x1 conv + BN on the shortcut
        c_in = c
    return total + 4 * w * classes + classes


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_resnets_have_6n_plus_2_layers_and_the_hand_count(depth):
    n = (depth - 2) // 6
    residual, plain = models.create(f"cifar_resnet{depth}"), models.create(f"cifar_plain{depth}")
    option_b = models.create(f"cifar_resnet{depth}", shortcut="B")
    assert count_weighted_layers(residual) == count_weighted_layers(plain) == depth
    assert count_params(residual) == count_params(plain) == cifar_resnet_params(n)
    assert count_params(option_b) == cifar_resnet_params(n, projection=True)


def test_cifar_resnet_published_sizes():
    assert count_params(models.create("cifar_resnet20")) == 269_722
    # Table 6: 0.85M and 1.7M.
    assert round(count_params(models.create("cifar_resnet56")) / 1e6, 2) == 0.85
    assert round(count_params(models.create("cifar_resnet110")) / 1e6, 1) == 1.7


def test_shortcut_a_subsamples_and_zero_pads():
    x = torch.randn(2, 16, 8, 8)
    y = ShortcutA(16, 32, 2)(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 16:]) == 0
    assert count_params(ShortcutA(16, 32, 2)) == 0


def test_residual_flag_turns_the_shortcut_on_and_off():
    x = torch.randn(2, 8, 6, 6)
    for block_class in (BasicBlock, PreActBlock):
        for residual in (True, False):
            block = block_class(8, 8, residual=residual).eval()
            nn.init.zeros_(block.conv2.weight)  # the residual branch now outputs zeros (post-BN: BN(0) = 0)
            with torch.no_grad():
                out = block(x)
            if not residual:
                assert torch.count_nonzero(out) == 0
            elif block_class is BasicBlock:
                torch.testing.assert_close(out, torch.relu(x))  # post-activation: ReLU after the sum
            else:
                torch.testing.assert_close(out, x)  # pre-activation: a clean identity path


def test_preact_cifar_resnet_builds_and_trains_one_step():
    model = models.create("cifar_resnet20", width=8, preact=True)
    assert any(isinstance(m, PreActBlock) for m in model.modules())
    loss = nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_resnet_init_is_he_for_convs_and_identity_for_bn():
    model = models.create("cifar_resnet20")
    conv = model.layer3[1].conv1  # fan_out = 64 * 9
    assert abs(conv.weight.std().item() - (2 / (64 * 9)) ** 0.5) < 0.01
    bn = model.layer1[0].bn1
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


# --- DenseNet ------------------------------------------------------------------------

def densenet_bc_params(depth, k, classes=10, theta=0.5):
    """Section 3-4 by hand: BN 2 per channel, convs without bias."""
    n = (depth - 4) // 6
    c = 2 * k
    total = 27 * c
    for block in range(3):
        for _ in range(n):
            total += 2 * c + c * 4 * k + 2 * 4 * k + 9 * 4 * k * k
            c += k
        if block < 2:
            c_out = int(theta * c)
            total += 2 * c + c * c_out
            c = c_out
    return total + 2 * c + c * classes + classes


def test_densenet_bc_100_12_matches_the_hand_count_and_the_papers_0_8M():
    count = count_params(models.create("cifar_densenet_bc", depth=100, growth_rate=12))
    assert count == densenet_bc_params(100, 12) == 769_162
    assert 760_000 <= count <= 800_000
    assert count_params(models.create("cifar_densenet_bc100")) == count
    assert count_params(models.create("cifar_densenet_bc_small")) == densenet_bc_params(40, 12)


# Notebook 06 prints these four at L=100, k=12 (section 3's B and C, each and together).
NOTEBOOK_06_VARIANTS = {(False, 1.0): 6_979_642, (True, 1.0): 1_210_066, (False, 0.5): 4_068_490,
                        (True, 0.5): 769_162}


@pytest.mark.parametrize("bottleneck, compression", sorted(NOTEBOOK_06_VARIANTS))
def test_cifar_densenet_variants_match_notebook_06(bottleneck, compression):
    with torch.device("meta"):
        model = models.create("cifar_densenet", depth=100, growth_rate=12, bottleneck=bottleneck,
                              compression=compression)
    assert count_params(model) == NOTEBOOK_06_VARIANTS[bottleneck, compression]


@pytest.mark.parametrize("depth, k, bottleneck, millions", [
    (40, 12, False, 1.0), (100, 12, False, 7.0), (100, 24, False, 27.2),  # Table 2, DenseNet
    (100, 12, True, 0.8), (250, 24, True, 15.3), (190, 40, True, 25.6),  # Table 2, DenseNet-BC
])
def test_cifar_densenet_has_table_2s_parameter_counts(depth, k, bottleneck, millions):
    with torch.device("meta"):
        model = models.create("cifar_densenet", depth=depth, growth_rate=k, bottleneck=bottleneck,
                              compression=0.5 if bottleneck else 1.0)
    assert round(count_params(model) / 1e6, 1) == millions


def test_cifar_densenet_bc_is_the_bc_variant_and_depths_are_checked():
    torch.manual_seed(0)
    bc = models.create("cifar_densenet_bc", depth=40, growth_rate=12)
    torch.manual_seed(0)
    same = models.create("cifar_densenet", depth=40, growth_rate=12, bottleneck=True, compression=0.5)
    assert shapes(bc) == shapes(same)
    assert all(torch.equal(a, b) for a, b in zip(bc.state_dict().values(), same.state_dict().values()))
    plain = models.create("cifar_densenet", depth=40, growth_rate=12, bottleneck=False, compression=1.0)
    assert plain.features.conv0.out_channels == 16 and len(plain.features.denseblock1) == 12
    with pytest.raises(ValueError, match="6n\\+4"):
        models.create("cifar_densenet", depth=41, bottleneck=True)
    with pytest.raises(ValueError, match="3n\\+4"):
        models.create("cifar_densenet", depth=42, bottleneck=False)


def test_dense_block_layer_l_sees_k0_plus_l_minus_1_times_k_channels():
    k0, k, layers = 24, 12, 5
    block = DenseBlock(layers, k0, k).eval()
    seen = [layer.in_channels for layer in block]
    assert seen == [k0 + (l - 1) * k for l in range(1, layers + 1)]
    with torch.no_grad():
        assert block(torch.randn(1, k0, 6, 6)).shape == (1, k0 + layers * k, 6, 6)


def test_dense_layer_without_bottleneck_is_one_3x3_conv():
    block = DenseBlock(2, 16, 12, bottleneck=False)
    assert count_weighted_layers(block) == 2
    assert count_params(block) == (2 * 16 + 9 * 16 * 12) + (2 * 28 + 9 * 28 * 12)


# --- every CIFAR builder: shapes, channels_last, autocast ---------------------------

CIFAR_BUILDERS = ["cifar_googlenet",
                  *(f"cifar_{kind}{depth}" for kind in ("resnet", "plain") for depth in (20, 32, 44, 56, 110)),
                  "cifar_densenet", "cifar_densenet_bc", "cifar_densenet_bc100", "cifar_densenet_bc_small"]


def test_every_cifar_builder_gives_ten_logits():
    assert set(CIFAR_BUILDERS) <= set(models.names())
    x = torch.randn(2, 3, 32, 32)
    for name in CIFAR_BUILDERS:
        with torch.no_grad():
            assert models.create(name).eval()(x).shape == (2, 10), name


@pytest.mark.parametrize("name, options", [
    ("cifar_resnet20", {"width": 8}),
    ("cifar_resnet20", {"width": 8, "preact": True}),
    ("cifar_resnet20", {"width": 8, "shortcut": "B"}),
    ("cifar_googlenet", {"width": 48}),
    ("cifar_densenet_bc", {"depth": 22, "growth_rate": 6}),
])
def test_channels_last_and_autocast(name, options):
    model = models.create(name, **options).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        channels_last = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
        torch.testing.assert_close(channels_last, expected, rtol=1e-4, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert model(x).dtype == torch.bfloat16
