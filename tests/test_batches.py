import pytest
import torch
import torch.nn.functional as F

from cnnlib.data import batches


def numbered_images(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator)


def test_crop_flip_keeps_shape_and_takes_pixels_from_the_padded_image():
    images = numbered_images(2)
    out = batches.random_crop_flip(images, generator=torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    # Every output is a shifted (maybe mirrored) window of the padded input, zeros outside.
    padded = F.pad(images, (4, 4, 4, 4))
    for n in range(2):
        windows = [padded[n, :, dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
        assert any(torch.equal(out[n], w) or torch.equal(out[n], w.flip(-1)) for w in windows)


def test_crop_flip_follows_the_draws():
    images = numbered_images(3)
    dy, dx, flip = torch.tensor([0, 8, 4]), torch.tensor([8, 0, 4]), torch.tensor([False, True, False])
    out = batches.random_crop_flip(images, crops=(dy, dx, flip))
    padded = F.pad(images, (4, 4, 4, 4))
    assert torch.equal(out[0], padded[0, :, 0:32, 8:40])
    assert torch.equal(out[1], padded[1, :, 8:40, 0:32].flip(-1))
    assert torch.equal(out[2], images[2])  # the centred, unflipped crop is the image itself


def test_crop_flip_varies_across_the_batch():
    images = numbered_images(64, seed=3)
    out = batches.random_crop_flip(images, generator=torch.Generator().manual_seed(1))
    changed = (out != images).flatten(1).any(1)
    assert int(changed.sum()) > 40  # 1/81 crops are centred and half of those unflipped


@pytest.mark.parametrize("padding", [4, 2])
def test_grouped_crops_equal_the_reference_for_the_same_draws(padding):
    images = numbered_images(500, seed=padding)
    crops = batches.draw_crops(len(images), padding, torch.Generator().manual_seed(7))
    reference = batches.random_crop_flip(images, padding, crops=crops)
    padded = F.pad(images, (padding,) * 4)
    grouped, source = batches.crop_flip_grouped(padded, padded.flip(3), *crops, padding=padding)
    assert sorted(source.tolist()) == list(range(len(images)))  # every image once
    assert torch.equal(grouped, reference[source])


def test_normalize_builds_its_constants_once_per_device(monkeypatch):
    images = numbered_images(4)
    batches.normalize(images)
    made = []
    real_tensor = torch.tensor
    monkeypatch.setattr(torch, "tensor", lambda *a, **k: made.append(a) or real_tensor(*a, **k))
    for _ in range(3):
        batches.normalize(images)
    assert made == []  # no new tensors from Python lists per batch (each would be a host-to-device copy)


def test_normalize_standardizes_and_inverts():
    images = numbered_images(256)
    x = batches.normalize(images)
    assert x.dtype == torch.float32
    mean = torch.tensor(batches.MEAN).view(1, 3, 1, 1)
    std = torch.tensor(batches.STD).view(1, 3, 1, 1)
    assert torch.allclose(x, (images.float() / 255 - mean) / std, atol=1e-5)
    assert torch.allclose(batches.denormalize(x) * 255, images.float(), atol=1e-3)


def test_normalize_can_write_channels_last():
    x = batches.normalize(numbered_images(2), memory_format=torch.channels_last)
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_batches_cover_the_split_once_per_epoch():
    images = numbered_images(300)
    labels = torch.arange(300)
    for augment in (False, True):
        seen = torch.cat([y for _, y in batches.Batches(images, labels, 64, True, augment, drop_last=False)])
        assert sorted(seen.tolist()) == list(range(300))
    full = batches.Batches(images, labels, 64, True, True, drop_last=True)
    assert len(full) == 4 and sum(len(y) for _, y in full) == 256


def test_augmented_batches_keep_each_image_with_its_label():
    # Each image is one flat colour (its label): a crop of it is that colour or padding zeros.
    labels = torch.arange(1, 101)
    images = labels.view(-1, 1, 1, 1).expand(-1, 3, 32, 32).to(torch.uint8).contiguous()
    for x, y in batches.Batches(images, labels, 25, True, True, drop_last=True):
        raw = batches.denormalize(x) * 255
        centre = raw[:, 0, 16, 16].round().long()  # the centre pixel is never padding
        assert torch.equal(centre, y)


def test_same_generator_seed_gives_the_same_batches():
    images, labels = numbered_images(100), torch.arange(100)
    runs = [[x for x, _ in batches.Batches(images, labels, 32, True, True, True,
                                           generator=torch.Generator().manual_seed(5))] for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_a_generator_on_another_device_is_replaced_by_one_on_the_data_device(monkeypatch):
    made = []

    class FakeGenerator:
        def __init__(self, device):
            self.device = torch.device(device)
            made.append(self.device)

        def manual_seed(self, seed):
            self.seed = seed
            return self

    monkeypatch.setattr(torch, "Generator", FakeGenerator)
    cpu = torch.random.default_generator
    generator = batches.generator_on(torch.device("meta"), cpu)
    assert made == [torch.device("meta")] and generator.device == torch.device("meta")
    assert batches.generator_on(torch.device("cpu"), cpu) is cpu  # already on the data's device


def test_batch_larger_than_the_split_is_explained():
    with pytest.raises(ValueError, match="larger than the 10 training images"):
        batches.Batches(numbered_images(10), torch.arange(10), 64, True, True, drop_last=True)
