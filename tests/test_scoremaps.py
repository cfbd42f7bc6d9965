import pytest
import torch

from cnnlib import models
from cnnlib.tasks import canvas, scoremaps
from cnnlib.data.batches import normalize


def trained_like(name, **options):
    """A model with random weights and non-trivial batch-norm statistics, in eval mode."""
    torch.manual_seed(0)
    model = models.create(name, **options)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def random_images(n, size, seed=0):
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", ["cifar_resnet20", "cifar_baseline"])
def test_the_unit_scores_average_to_the_logits(name):
    model = trained_like(name, width=4)
    images = random_images(3, 48)
    scores = scoremaps.unit_scores(model, images)
    with torch.no_grad():
        logits = model(normalize(images))
    torch.testing.assert_close(scores.mean((2, 3)), logits, atol=1e-5, rtol=1e-5)


def test_the_class_activation_map_is_zhous_sum_of_weighted_feature_maps():
    model = trained_like("cifar_resnet20", width=4)
    images = random_images(2, 32)
    features = scoremaps.feature_maps(model, images)
    expected = torch.einsum("ck,nkhw->nchw", model.fc.weight.detach(), features)
    torch.testing.assert_close(scoremaps.class_activation_maps(model, images), expected)


def test_a_window_the_size_of_the_training_images_is_the_classifier_itself():
    model = trained_like("cifar_resnet20", width=4)
    images = random_images(2, 32)
    with torch.no_grad():
        logits = model(normalize(images))
    windows = scoremaps.window_scores(model, images)
    assert windows.shape == (2, 10, 1, 1)
    torch.testing.assert_close(windows[:, :, 0, 0], logits, atol=1e-5, rtol=1e-5)
    assert scoremaps.window_scores(model, random_images(1, 128)).shape == (1, 10, 25, 25)  # (128 - 32) / 4 + 1


def where_the_gradient_lands(model, size, unit):
    """The centre of the input pixels that feed the unit (unit, unit) of the last feature map."""
    images = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).requires_grad_()
    pool, _ = scoremaps.head(model)
    captured = []
    hook = pool.register_forward_hook(lambda m, inputs, output: captured.append(inputs[0]))
    model(images)
    hook.remove()
    captured[0][0, :, unit, unit].sum().backward()
    rows = images.grad[0].abs().sum((0, 2)).nonzero().flatten()
    return (rows.min() + rows.max()).item() / 2


@pytest.mark.parametrize("name, jump, centre", [("cifar_resnet20", 4, 0.0), ("cifar_baseline", 8, 3.5)])
def test_the_geometry_is_where_the_gradient_lands(name, jump, centre):
    model = trained_like(name, width=4)
    geometry = scoremaps.Geometry.of(model)
    assert (geometry.jump, geometry.first_centre) == (jump, centre)
    # unit 20 of a 192-pixel input: its whole field is inside the image (the border would cut it)
    assert where_the_gradient_lands(model, 192, 20) == geometry.centres(21)[20]


def test_to_pixels_takes_each_units_value_at_its_centre_and_interpolates_between():
    geometry = scoremaps.Geometry(jump=4, first_centre=1.5, field_size=9)
    scores = torch.arange(16.0).view(1, 1, 4, 4)
    pixels = scoremaps.to_pixels(scores, 16, geometry)[0, 0]
    for k, centre in enumerate(geometry.centres(4)):
        assert centre == 1.5 + 4 * k
    # pixel 5.5 is unit (1, 1): rows and columns at pixels 5 and 6 straddle it
    torch.testing.assert_close(pixels[5:7, 5:7].mean(), scores[0, 0, 1, 1])
    torch.testing.assert_close(pixels[0, 0], scores[0, 0, 0, 0])  # before the first centre: the first unit
    torch.testing.assert_close(pixels[7, 1] - pixels[6, 1], torch.tensor(4 / 4))  # one unit down is +4, over 4 px


@pytest.mark.parametrize("options", [{}, {"shortcut": "B"}, {"preact": True}])
@pytest.mark.parametrize("stages", [1, 2])
def test_a_dilated_resnet_has_the_original_units_at_every_other_place(options, stages):
    model = trained_like("cifar_resnet20", width=4, **options)
    images = random_images(2, 64)
    finer = scoremaps.dilated(model, stages)
    coarse_scores = scoremaps.unit_scores(model, images)
    fine_scores = scoremaps.unit_scores(finer, images)
    step = 2 ** stages
    assert fine_scores.shape[-1] == step * coarse_scores.shape[-1]
    torch.testing.assert_close(fine_scores[..., ::step, ::step], coarse_scores, atol=1e-5, rtol=1e-5)
    assert scoremaps.Geometry.of(finer).jump == 4 // step
    assert sum(p.numel() for p in finer.parameters()) == sum(p.numel() for p in model.parameters())
    assert model.layer3[0].conv1.stride == (2, 2)  # the original is untouched


def test_dilated_refuses_other_models():
    with pytest.raises(ValueError, match="CIFAR ResNet"):
        scoremaps.dilated(models.create("cifar_baseline", width=4))
    with pytest.raises(TypeError, match="global average pooling"):
        scoremaps.head(torch.nn.Sequential(torch.nn.Linear(3, 3)))


def test_labels_at_units_read_the_mask_at_each_centre():
    masks = torch.arange(16 * 16).view(1, 16, 16)
    geometry = scoremaps.Geometry(jump=4, first_centre=1.5, field_size=9)  # centres 1.5, 5.5, ...: rounded to 2, 6, ...
    labels = scoremaps.labels_at_units(masks, geometry, 4)
    assert labels[0, 1, 2].item() == masks[0, 6, 10].item()


def test_the_background_output_learns_where_no_image_is_and_keeps_the_classes():
    model = trained_like("cifar_resnet20", width=4)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8, generator=generator)
    canvases = canvas.make_canvases(images, torch.arange(24) % 10, 8, size=96, count=3, seed=0)
    layer = scoremaps.with_background(model, canvas.stack(canvases), torch.stack([c.mask for c in canvases]))
    assert layer.out_features == 11
    torch.testing.assert_close(layer.weight[:10], model.fc.weight.detach())
    scores = scoremaps.unit_scores(model, canvas.stack(canvases), layer)
    truth = scoremaps.labels_at_units(torch.stack([c.mask for c in canvases]), scoremaps.Geometry.of(model), 24)
    said_background = scores.argmax(1) == canvas.BACKGROUND
    is_background = truth == canvas.BACKGROUND
    # far better than the 10-class classifier, which can never say "background"
    assert (said_background == is_background).float().mean() > 0.8
