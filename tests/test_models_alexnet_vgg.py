"""AlexNet and VGG against torchvision's models and the papers' numbers.

ImageNet-sized models are built on the meta device where only shapes and
counts matter: no memory is allocated and no weights are initialized.
"""
import pytest
import torch
import torch.nn as nn
import torchvision

from cnnlib import arith, models
from cnnlib.models.vgg import CONFIGS, classifier_as_convolutions, stages

IMAGENET_NAMES = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19",
                  "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
CIFAR_VGG_NAMES = ["cifar_vgg11", "cifar_vgg13", "cifar_vgg16", "cifar_vgg19"]


count = arith.count_parameters


def shapes(model):
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


@pytest.mark.parametrize("name", IMAGENET_NAMES)
def test_imagenet_model_has_torchvisions_parameters(name):
    with torch.device("meta"):
        ours = models.create(name)
        theirs = getattr(torchvision.models, name)(weights=None)
    assert count(ours) == count(theirs)
    # Same layer names and shapes: torchvision's weights load as they are.
    assert shapes(ours) == shapes(theirs)


def test_published_parameter_counts():
    with torch.device("meta"):
        assert count(models.create("alexnet")) == 61_100_840
        assert count(models.create("vgg16")) == 138_357_544


def test_batch_norm_option_equals_bn_builder():
    with torch.device("meta"):
        for depth in (11, 13, 16, 19):
            assert shapes(models.create(f"vgg{depth}", batch_norm=True)) == shapes(models.create(f"vgg{depth}_bn"))


def test_vgg_names_count_weight_layers():
    for depth, letter in {11: "A", 13: "B", 16: "D", 19: "E"}.items():
        convolutions = sum(1 for item in CONFIGS[letter] if item != "M")
        assert convolutions + 3 == depth
        assert CONFIGS[letter].count("M") == 5


@pytest.mark.parametrize("name", IMAGENET_NAMES)
def test_imagenet_output_shape(name):
    with torch.device("meta"):
        model = models.create(name, num_classes=7)
        assert model(torch.empty(2, 3, 224, 224)).shape == (2, 7)


@pytest.mark.parametrize("options", [{}, {"lrn": True, "groups": 2}, {"overlapping_pool": False}])
def test_alexnet_runs_at_224(options):
    model = models.create("alexnet", **options).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 224, 224))
    assert logits.shape == (1, 1000)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", ["cifar_alexnet"] + CIFAR_VGG_NAMES)
@pytest.mark.parametrize("width", [8, 16])
def test_cifar_output_shape(name, width):
    model = models.create(name, width=width, num_classes=10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_cifar_width_scales_channels():
    for name in ["cifar_alexnet", "cifar_vgg11"]:
        for width in (16, 64):
            convs = [m for m in models.create(name, width=width).features if isinstance(m, nn.Conv2d)]
            assert convs[0].out_channels == width
    alex = [m.out_channels for m in models.create("cifar_alexnet", width=64).features if isinstance(m, nn.Conv2d)]
    assert alex == [64, 192, 384, 256, 256]
    vgg = [m.out_channels for m in models.create("cifar_vgg16", width=64).features if isinstance(m, nn.Conv2d)]
    assert vgg == [c for c in CONFIGS["D"] if c != "M"]


# --- cifar_alexnet: each option changes what its name says --------------------

def modules_of(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def test_lrn_option():
    with_lrn = models.create("cifar_alexnet", width=16, lrn=True)
    norms = modules_of(with_lrn, nn.LocalResponseNorm)
    assert len(norms) == 2
    # The paper's constants; PyTorch's alpha is divided by the size.
    assert all((n.size, n.alpha / n.size, n.beta, n.k) == (5, pytest.approx(1e-4), 0.75, 2.0) for n in norms)
    assert modules_of(models.create("cifar_alexnet", width=16, lrn=False), nn.LocalResponseNorm) == []
    # The LRN follows the ReLU of conv1 and conv2.
    features = list(with_lrn.features)
    for norm in norms:
        assert isinstance(features[features.index(norm) - 1], nn.ReLU)


def test_lrn_keeps_parameters():
    assert count(models.create("cifar_alexnet", width=16, lrn=False)) == count(models.create("cifar_alexnet", width=16))


@pytest.mark.parametrize("name, options", [("cifar_alexnet", {"width": 16}), ("alexnet", {})])
def test_groups_halve_the_split_layers_weights(name, options):
    with torch.device("meta"):
        one = modules_of(models.create(name, groups=1, **options), nn.Conv2d)
        two = modules_of(models.create(name, groups=2, **options), nn.Conv2d)
        assert [c.groups for c in two] == [1, 2, 1, 2, 2]  # conv2, conv4, conv5 stay in their tower
        for a, b in zip(one, two):
            assert a.weight.shape[0] == b.weight.shape[0]
            halved = a.weight.numel() // 2 if b.groups == 2 else a.weight.numel()
            assert b.weight.numel() == halved
            assert b.bias.numel() == a.bias.numel()
        total_one = count(models.create(name, groups=1, **options))
        total_two = count(models.create(name, groups=2, **options))
    assert total_one - total_two == sum(a.weight.numel() // 2 for a, b in zip(one, two) if b.groups == 2)


def test_groups_do_not_cross_towers():
    model = models.create("cifar_alexnet", width=16, groups=2).eval()
    conv2 = modules_of(model, nn.Conv2d)[1]
    x = torch.randn(1, conv2.in_channels, 8, 8)
    with torch.no_grad():
        base = conv2(x)
        x[:, : conv2.in_channels // 2] += 1.0  # change only the first tower's input
        changed = conv2(x)
    half = conv2.out_channels // 2
    assert not torch.allclose(base[:, :half], changed[:, :half])
    assert torch.equal(base[:, half:], changed[:, half:])


@pytest.mark.parametrize("name", ["cifar_alexnet", "alexnet"])
def test_overlapping_pool_option(name):
    with torch.device("meta"):
        overlapping = modules_of(models.create(name, overlapping_pool=True), nn.MaxPool2d)
        disjoint = modules_of(models.create(name, overlapping_pool=False), nn.MaxPool2d)
    assert len(overlapping) == len(disjoint) == 3
    assert all((p.kernel_size, p.stride) == (3, 2) for p in overlapping)
    assert all((p.kernel_size, p.stride) == (2, 2) for p in disjoint)


def test_overlapping_pool_keeps_sizes_and_parameters():
    overlapping = models.create("cifar_alexnet", width=16, overlapping_pool=True)
    disjoint = models.create("cifar_alexnet", width=16, overlapping_pool=False)
    x = torch.randn(1, 3, 32, 32)
    assert overlapping.features(x).shape == disjoint.features(x).shape == (1, 64, 4, 4)
    assert count(overlapping) == count(disjoint)


def test_dropout_option():
    with_dropout = modules_of(models.create("cifar_alexnet", width=16), nn.Dropout)
    assert len(with_dropout) == 2 and all(d.p == 0.5 for d in with_dropout)
    assert [d.p for d in modules_of(models.create("cifar_alexnet", width=16, dropout=0.3), nn.Dropout)] == [0.3, 0.3]
    without = models.create("cifar_alexnet", width=16, dropout=0.0)
    assert not any(d.p > 0 for d in modules_of(without, nn.Dropout))
    # Dropout has no parameters: the same model otherwise.
    assert count(without) == count(models.create("cifar_alexnet", width=16))


def test_alexnet_batch_norm_option():
    model = models.create("cifar_alexnet", width=16, batch_norm=True)
    assert len(modules_of(model, nn.BatchNorm2d)) == 5
    assert all(conv.bias is None for conv in modules_of(model, nn.Conv2d))
    assert modules_of(models.create("cifar_alexnet", width=16), nn.BatchNorm2d) == []


def test_cifar_vgg_batch_norm_option():
    assert len(modules_of(models.create("cifar_vgg16", width=8), nn.BatchNorm2d)) == 13
    assert modules_of(models.create("cifar_vgg16", width=8, batch_norm=False), nn.BatchNorm2d) == []


def test_stages_split_at_poolings():
    model = models.create("cifar_vgg16", width=8)
    blocks = stages(model)
    assert len(blocks) == 5
    assert [len(modules_of(b, nn.Conv2d)) for b in blocks] == [2, 2, 3, 3, 3]
    assert all(isinstance(b[-1], nn.MaxPool2d) for b in blocks)
    x = torch.randn(1, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(nn.Sequential(*blocks)(x), model.features(x))


# --- Section 3.2: the classifier as convolutions ------------------------------

@pytest.mark.parametrize("name", CIFAR_VGG_NAMES[:2])
def test_cifar_vgg_as_convolutions(name):
    torch.manual_seed(0)
    model = models.create(name, width=8)
    # Non-trivial batch-norm statistics and biases, as a trained model has.
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 3, 32, 32))
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.bias.normal_()
    model.eval()
    convolutional = classifier_as_convolutions(model).eval()
    assert not modules_of(convolutional, nn.Linear)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        scores = convolutional(x)
        assert scores.shape == (4, 10, 1, 1)
        assert torch.allclose(scores.flatten(1), model(x), atol=1e-5)
        assert convolutional(torch.randn(2, 3, 64, 64)).shape == (2, 10, 2, 2)
        assert convolutional(torch.randn(1, 3, 96, 128)).shape == (1, 10, 3, 4)
        # The original's Linear layers accept only 32x32.
        with pytest.raises(RuntimeError):
            model(torch.randn(1, 3, 64, 64))


def test_vgg16_as_convolutions():
    torch.manual_seed(0)
    model = models.create("vgg16").eval()
    convolutional = classifier_as_convolutions(model).eval()
    kernels = [m.kernel_size for m in modules_of(convolutional, nn.Conv2d)[-3:]]
    assert kernels == [(7, 7), (1, 1), (1, 1)]
    with torch.no_grad():
        x = torch.randn(1, 3, 224, 224)
        scores = convolutional(x)
        assert scores.shape == (1, 1000, 1, 1)
        assert torch.allclose(scores.flatten(1), model(x), atol=1e-5, rtol=1e-4)
        # 256 pixels -> 8x8 features -> a 2x2 map of 7x7 windows.
        assert convolutional(torch.randn(1, 3, 256, 256)).shape == (1, 1000, 2, 2)


def test_the_2012_papers_alexnet_has_its_channels_and_parameter_count():
    with torch.device("meta"):
        paper = models.create("alexnet_2012")
        one_tower = models.create("alexnet_2012", groups=1)
    convs = [m for m in paper.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]  # conv3 reads both towers (Section 3.5)
    # conv: 34,944 + 307,456 + 885,120 + 663,936 + 442,624; fc: 37,752,832 + 16,781,312 + 4,097,000
    assert sum(p.numel() for p in paper.parameters()) == 60_965_224
    assert sum(p.numel() for p in one_tower.parameters()) > 60_965_224
