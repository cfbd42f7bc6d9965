import pathlib
import zipfile

import pytest
import torch
from PIL import Image

from cnnlib import batches, data


@pytest.fixture(scope="module")
def embedded():
    return data.load_cifar10("embedded", device="cpu", verbose=False)


def make_tree(root, per_class=2, classes=data.CLASSES, size=32):
    for split in ("train", "test"):
        for index, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.new("RGB", (size, size), (20 * index + i,) * 3).save(folder / f"{i:04d}.jpg", quality=95)
    return root


def test_embedded_subset_is_balanced_real_cifar(embedded):
    assert embedded.train_images.shape == (3000, 3, 32, 32)
    assert embedded.test_images.shape == (1000, 3, 32, 32)
    assert embedded.train_images.dtype == torch.uint8
    assert embedded.train_labels.bincount().tolist() == [300] * 10
    assert embedded.test_labels.bincount().tolist() == [100] * 10
    # Real photographs: CIFAR-10's channel means, not noise or a constant.
    mean = embedded.test_images.float().mean((0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor(batches.MEAN), atol=0.03)


def test_embedded_zip_stays_small_and_keeps_jpeg_bytes():
    assert data.EMBEDDED_ZIP.stat().st_size <= 4 * 2**20
    with zipfile.ZipFile(data.EMBEDDED_ZIP) as archive:
        first = archive.read(archive.namelist()[0])
    assert first[:2] == b"\xff\xd8"  # a JPEG's start-of-image marker


def test_loading_says_what_it_loaded(capsys):
    data.load_cifar10("embedded", device="cpu")
    line = capsys.readouterr().out
    assert "embedded subset" in line and "full CIFAR-10" in line


def test_quick_mode_defaults_to_embedded(capsys):
    loaded = data.load_cifar10(mode="quick", device="cpu")
    assert loaded.source == "embedded subset"


def test_image_folder_tree(tmp_path):
    tree = make_tree(tmp_path / "tree")
    loaded = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    assert loaded.train_images.shape == (20, 3, 32, 32)
    assert sorted(loaded.train_labels.tolist()) == [i // 2 for i in range(20)]
    # Each image keeps its label: class c, image i has the grey value 20c + i.
    for image, label in zip(loaded.train_images, loaded.train_labels):
        assert int(image.float().mean()) - 20 * int(label) in range(-2, 4)
    # Second load comes from the cache and gives the same tensors.
    again = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    assert list((tmp_path / "cache" / "cache").glob("*.pt"))
    assert torch.equal(again.train_images, loaded.train_images)


def test_missing_folder_names_path_and_layout(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(data.DataError, match=r"nowhere.*train.*missing.*Expected"):
        data.load_cifar10(str(missing), root=tmp_path, verbose=False)


def test_corrupt_image_names_the_file(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1)
    (tree / "train" / "cat" / "0000.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(data.DataError, match=r"train/cat/0000.jpg is not a readable image"):
        data.load_cifar10(str(tree), root=tmp_path / "cache", verbose=False)


def test_wrong_image_size_is_explained(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1, size=40)
    with pytest.raises(data.DataError, match="CIFAR-10 images are 32x32"):
        data.load_cifar10(str(tree), root=tmp_path / "cache", verbose=False)


def test_unknown_class_folder_is_explained(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1, classes=("airplane", "spaceship"))
    with pytest.raises(data.DataError, match="spaceship is not a CIFAR-10 class"):
        data.load_cifar10(str(tree), root=tmp_path / "cache", verbose=False)


def test_auto_falls_back_to_embedded_when_offline(tmp_path, monkeypatch, capsys):
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("no network")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    loaded = data.load_cifar10("auto", root=tmp_path, device="cpu")
    out = capsys.readouterr().out
    assert loaded.source == "embedded subset"
    assert "could not be downloaded" in out and str(tmp_path) in out


def test_torchvision_source_failure_names_the_folder(tmp_path, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("no network")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(data.DataError, match=str(tmp_path)):
        data.load_cifar10("torchvision", root=tmp_path, verbose=False)


def test_torchvision_source_reads_the_original_format(tmp_path, monkeypatch):
    # The python version of CIFAR-10 is pickled batches; write a tiny one and read it back.
    import pickle

    import numpy as np

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(data.CLASSES)}, f)
    import torchvision.datasets.cifar

    # Our files are not the release's, so their checksums cannot match.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args: True)
    loaded = data.load_cifar10("torchvision", root=tmp_path, device="cpu", verbose=False)
    assert loaded.train_images.shape == (20, 3, 32, 32)
    assert loaded.test_labels.tolist() == [0, 1, 2, 3]


def test_unknown_source_lists_the_sources():
    with pytest.raises(ValueError, match="auto, torchvision, embedded"):
        data.load_cifar10("imagenet", verbose=False)


def test_loaded_splits_are_shuffled_once_so_every_slice_holds_every_class(embedded):
    # The embedded zip and ImageFolder trees are stored class by class.
    assert len(set(embedded.test_labels[:50].tolist())) == 10
    assert len(set(embedded.train_labels[:50].tolist())) == 10
    again = data.load_cifar10("embedded", device="cpu", verbose=False)
    assert torch.equal(again.train_labels, embedded.train_labels)  # the same order every time


def test_a_split_by_name(embedded):
    images, labels = embedded.split("train")
    assert images is embedded.train_images and labels is embedded.train_labels
    with pytest.raises(ValueError, match="unknown split"):
        embedded.split("validation")


def test_batches_cover_the_split(embedded):
    batches = embedded.train_batches(128)
    assert len(batches) == 3000 // 128
    seen = torch.cat([y for _, y in batches])
    assert len(seen) == len(batches) * 128
    test = embedded.batches("test", 300)
    assert len(test) == 4
    assert torch.equal(torch.cat([y for _, y in test]), embedded.test_labels)
    train_in_order = embedded.batches("train", 1000)
    assert torch.equal(torch.cat([y for _, y in train_in_order]), embedded.train_labels)
