import pytest
import torch

from cnnlib.tasks import canvas
from cnnlib.tasks.canvas import BACKGROUND, MEAN_COLOUR


def images_and_labels(n=40, size=32):
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)
    return images, torch.arange(n) % 10


def test_the_same_seed_gives_the_same_canvases_and_another_seed_others():
    images, labels = images_and_labels()
    first = canvas.make_canvases(images, labels, 3, size=96, count=3, seed=5)
    again = canvas.make_canvases(images, labels, 3, size=96, count=3, seed=5)
    other = canvas.make_canvases(images, labels, 3, size=96, count=3, seed=6)
    for a, b in zip(first, again):
        assert torch.equal(a.image, b.image) and torch.equal(a.boxes, b.boxes) and torch.equal(a.mask, b.mask)
    assert any(not torch.equal(a.boxes, b.boxes) for a, b in zip(first, other))


def test_the_ground_truth_is_where_the_images_are():
    images, labels = images_and_labels()
    for c in canvas.make_canvases(images, labels, 4, size=80, count=2, seed=0):
        covered = torch.zeros(80, 80, dtype=torch.bool)
        for (x0, y0, x1, y1), label, source in zip(c.boxes.tolist(), c.labels, c.sources):
            assert (x1 - x0, y1 - y0) == (32, 32)
            assert torch.equal(c.image[:, y0:y1, x0:x1], images[source])
            assert label == labels[source]
            assert (c.mask[y0:y1, x0:x1] == label).all()
            covered[y0:y1, x0:x1] = True
        assert (c.mask[~covered] == BACKGROUND).all()
        background = c.image.permute(1, 2, 0)[~covered]
        assert (background == torch.tensor(MEAN_COLOUR, dtype=torch.uint8)).all()


def test_pasted_images_keep_the_gap_and_are_never_reused():
    images, labels = images_and_labels(n=40)
    canvases = canvas.make_canvases(images, labels, 10, size=128, count=4, seed=3, gap=4)
    used = torch.cat([c.sources for c in canvases])
    assert len(set(used.tolist())) == len(used) == 40
    for c in canvases:
        for i, a in enumerate(c.boxes.tolist()):
            for b in c.boxes.tolist()[i + 1:]:
                apart_x = a[0] >= b[2] + 4 or b[0] >= a[2] + 4
                apart_y = a[1] >= b[3] + 4 or b[1] >= a[3] + 4
                assert apart_x or apart_y


def test_impossible_requests_say_why():
    images, labels = images_and_labels(n=8)
    with pytest.raises(ValueError, match="need 12 images"):
        canvas.make_canvases(images, labels, 3, count=4)
    with pytest.raises(ValueError, match="could not place"):
        canvas.make_canvases(images, labels, 1, size=64, count=5)
    with pytest.raises(ValueError, match="does not fit"):
        canvas.make_canvases(images, labels, 1, size=16, count=1)


def test_stack_makes_a_batch():
    images, labels = images_and_labels()
    canvases = canvas.make_canvases(images, labels, 2, size=64, count=1)
    batch = canvas.stack(canvases)
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.uint8
    assert canvases[0].size == 64
