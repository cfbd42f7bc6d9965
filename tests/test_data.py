import hashlib
import http.server
import io
import os
import pathlib
import pickle
import socket
import tarfile
import threading
import time
import zipfile

import numpy as np
import pytest
import torch
import torchvision
import torchvision.datasets.cifar
from PIL import Image

from cnnlib import data
from cnnlib.data import batches, download


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


def write_original(folder, per_batch=4):
    """A tiny CIFAR-10 in the release's format: pickled batches and batches.meta."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(data.CLASSES)}, f)
    return folder


def original_archive(tmp_path):
    """The bytes of a tar.gz that unpacks to a tiny cifar-10-batches-py."""
    folder = write_original(tmp_path / "release" / "cifar-10-batches-py")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return buffer.getvalue()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def direct(monkeypatch):
    """No proxy from the environment between the tests and their local servers."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def offline(monkeypatch, direct):
    """The release's URL points at a closed port: the connection is refused at once."""
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", f"http://127.0.0.1:{free_port()}/cifar.tar.gz")


@pytest.fixture
def stalled_port():
    """A server that accepts connections and never answers, like a stalled proxy."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # closed at the end of the test
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for connection in held:
        connection.close()


@pytest.fixture
def serve(direct):
    """serve(body) -> the URL of a local HTTP server that answers every GET with `body`."""
    servers = []

    def start(body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/cifar-10-python.tar.gz"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


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


def test_auto_falls_back_to_embedded_when_offline(tmp_path, offline, capsys):
    loaded = data.load_cifar10("auto", root=tmp_path, device="cpu")
    out = capsys.readouterr().out
    assert loaded.source == "embedded subset"
    assert "could not be downloaded" in out and str(tmp_path) in out


def test_torchvision_source_failure_names_the_folder(tmp_path, offline):
    with pytest.raises(data.DataError, match=str(tmp_path)):
        data.load_cifar10("torchvision", root=tmp_path, verbose=False)


def test_torchvision_source_reads_the_original_format(tmp_path, monkeypatch):
    # The python version of CIFAR-10 is pickled batches; write a tiny one and read it back.
    write_original(tmp_path / "cifar-10-batches-py")
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


# ---------------------------------------------------------------- the original set: downloads and partial folders

def load_in_thread(seconds, **kwargs):
    """load_cifar10(**kwargs) with a deadline, so that a hang fails the test instead of stalling it."""
    outcome = {}

    def run():
        try:
            outcome["data"] = data.load_cifar10(device="cpu", **kwargs)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"load_cifar10({kwargs}) still waiting after {seconds} s"
    return outcome, time.monotonic() - start


@pytest.mark.parametrize("stall", ["server", "proxy"])
def test_a_stalled_network_times_out_and_auto_falls_back(tmp_path, monkeypatch, capsys, direct, stalled_port, stall):
    monkeypatch.setattr(download, "TIMEOUT_S", 1)
    if stall == "server":
        monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", f"http://127.0.0.1:{stalled_port}/cifar.tar.gz")
    else:  # the release's own https URL, through a proxy that accepts CONNECT and never answers
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{stalled_port}")
    url = torchvision.datasets.CIFAR10.url

    outcome, _ = load_in_thread(30, source="auto", root=tmp_path)
    out = capsys.readouterr().out
    assert outcome["data"].source == "embedded subset"
    assert f"could not be downloaded from {url}" in out and "no answer within 1 s" in out
    assert "Connect to the internet" in out and str(tmp_path) in out
    assert list(tmp_path.iterdir()) == []  # no partial download left behind

    outcome, seconds = load_in_thread(30, source="torchvision", root=tmp_path, verbose=False)
    assert isinstance(outcome["error"], data.DataError) and seconds < 10  # one 1 s timeout, not a hang
    assert "no answer within 1 s" in str(outcome["error"]) and data.DATA_VARIABLE in str(outcome["error"])


def test_download_unpacks_the_release_and_keeps_the_archive(tmp_path, monkeypatch, serve):
    archive = original_archive(tmp_path / "server")
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", serve(archive))
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "tgz_md5", hashlib.md5(archive).hexdigest())
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args: True)
    root = tmp_path / "data"
    loaded = data.load_cifar10("torchvision", root=root, device="cpu", verbose=False)
    assert loaded.train_images.shape == (20, 3, 32, 32) and loaded.test_labels.tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    # The kept archive is unpacked again with no network once the folder is gone.
    (root / "cifar-10-batches-py").rename(tmp_path / "moved")
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", f"http://127.0.0.1:{free_port()}/gone.tar.gz")
    again = data.load_cifar10("torchvision", root=root, device="cpu", verbose=False)
    assert torch.equal(again.train_images, loaded.train_images)


def test_a_damaged_download_is_refused_and_not_kept(tmp_path, monkeypatch, serve):
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", serve(b"<html>a captive portal</html>"))
    with pytest.raises(data.DataError, match=r"could not be downloaded.*not the expected file.*Connect"):
        data.load_cifar10("torchvision", root=tmp_path, verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_a_partly_extracted_folder_names_the_missing_files_and_how_to_remove_it(tmp_path, offline, capsys):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"\x80\x02}q\x00")  # cut short
    (folder / "data_batch_2").write_bytes(b"")
    with pytest.raises(data.DataError) as caught:
        data.load_cifar10("torchvision", root=tmp_path, verbose=False)
    message = str(caught.value)
    assert f"the folder {folder} is incomplete" in message
    assert "missing: data_batch_3, data_batch_4, data_batch_5, test_batch, batches.meta" in message
    assert "damaged" in message and "data_batch_1, data_batch_2" in message
    assert f"shutil.rmtree({str(folder)!r})" in message and f"rm -r {folder}" in message
    assert "Connect to the internet" not in message  # the network is not the problem
    # auto says the same, once, and loads the embedded subset instead.
    loaded = data.load_cifar10("auto", root=tmp_path, device="cpu")
    assert loaded.source == "embedded subset"
    assert f"the folder {folder} is incomplete" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["data_batch_1", "data_batch_2"]  # untouched


# ---------------------------------------------------------------- ImageFolder trees: the cache

def solid_jpeg(grey, size=None):
    """A 32x32 JPEG of one grey; with `size`, the first grey from `grey` up whose file has that many bytes."""
    for value in range(grey, 256):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), (value,) * 3).save(buffer, "JPEG", quality=95)
        if size is None or len(buffer.getvalue()) == size:
            return value, buffer.getvalue()
    raise AssertionError(f"no solid JPEG of {size} bytes from grey {grey} up")


def keep_times(*files):
    """Give files one modification time, as files unpacked from one archive have."""
    for file in files:
        os.utime(file, ns=(1_600_000_000_000_000_000,) * 2)


def grey_label_pairs(loaded, split="train"):
    images, labels = loaded.split(split)
    return sorted((round(image.float().mean().item()), int(label)) for image, label in zip(images, labels))


def test_a_same_size_edit_is_decoded_again(tmp_path):
    tree = make_tree(tmp_path / "tree")
    edited = tree / "train" / "cat" / "0000.jpg"
    keep_times(*tree.glob("*/*/*.jpg"))
    first = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    grey, body = solid_jpeg(200, size=edited.stat().st_size)
    edited.write_bytes(body)
    keep_times(edited)
    second = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    cat = data.CLASSES.index("cat")
    assert (grey, cat) in grey_label_pairs(second) and (grey, cat) not in grey_label_pairs(first)
    assert len(list((tmp_path / "cache" / "cache").glob("*.pt"))) == 1  # replaced, not piled up


def test_a_same_size_swap_between_train_and_test_is_decoded_again(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1)
    cat_grey, cat_body = solid_jpeg(100)
    dog_grey, dog_body = solid_jpeg(cat_grey + 1, size=len(cat_body))
    train_cat, test_dog = tree / "train" / "cat" / "0000.jpg", tree / "test" / "dog" / "0000.jpg"
    train_cat.write_bytes(cat_body)
    test_dog.write_bytes(dog_body)
    keep_times(*tree.glob("*/*/*.jpg"))
    first = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    train_cat.write_bytes(dog_body)
    test_dog.write_bytes(cat_body)
    keep_times(train_cat, test_dog)
    second = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    cat, dog = data.CLASSES.index("cat"), data.CLASSES.index("dog")
    assert (cat_grey, cat) in grey_label_pairs(first) and (dog_grey, dog) in grey_label_pairs(first, "test")
    assert (dog_grey, cat) in grey_label_pairs(second) and (cat_grey, dog) in grey_label_pairs(second, "test")


@pytest.mark.parametrize("spoil", [
    lambda t: [t[0][:, :, :28, :28].contiguous(), *t[1:]],     # images of the wrong size
    lambda t: [t[0].float(), *t[1:]],                          # images of the wrong dtype
    lambda t: [t[0], t[1].int(), *t[2:]],                      # labels of the wrong dtype
    lambda t: [t[0], t[1] + 10, *t[2:]],                       # labels outside 0..9
    lambda t: [t[0], t[1][:-1], *t[2:]],                       # fewer labels than images
    lambda t: t[:2],                                           # no test split
], ids=["size", "image-dtype", "label-dtype", "label-range", "lengths", "split"])
def test_a_cache_of_the_wrong_shapes_is_decoded_again(tmp_path, spoil):
    tree = make_tree(tmp_path / "tree")
    first = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    [cache] = (tmp_path / "cache" / "cache").glob("*.pt")
    saved = torch.load(cache, weights_only=True)
    torch.save({"key": saved["key"], "tensors": spoil(saved["tensors"])}, cache)
    second = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(getattr(second, name), getattr(first, name))
    rewritten = torch.load(cache, weights_only=True)["tensors"]
    assert [t.shape for t in rewritten] == [t.shape for t in saved["tensors"]]


def test_an_unwritable_cache_warns_and_the_load_goes_on(tmp_path):
    tree = make_tree(tmp_path / "tree")
    root = tmp_path / "not-a-folder"
    root.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match=rf"could not write the decoded-image cache {root}.*{data.DATA_VARIABLE}"):
        loaded = data.load_cifar10(str(tree), root=root, device="cpu", verbose=False)
    assert loaded.train_images.shape == (20, 3, 32, 32)


# ---------------------------------------------------------------- ImageFolder trees: the files in them

def test_sixteen_bit_grayscale_is_scaled_to_eight_bits(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1)
    (tree / "train" / "cat" / "0000.jpg").unlink()
    grey = torch.arange(32 * 32) % 256  # every 8-bit value, four times
    sixteen = (grey * 257).to(torch.int32).numpy().astype("<u2")
    Image.frombytes("I;16", (32, 32), sixteen.tobytes()).save(tree / "train" / "cat" / "0000.png")
    loaded = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    [image] = loaded.train_images[loaded.train_labels == data.CLASSES.index("cat")]
    assert torch.equal(image, grey.to(torch.uint8).view(1, 32, 32).repeat(3, 1, 1))


def test_thirty_two_bit_pixels_are_refused_naming_the_file(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1)
    Image.new("F", (32, 32), 0.5).save(tree / "train" / "cat" / "0001.tif")
    with pytest.raises(data.DataError, match=r"train/cat/0001.tif holds 32-bit float pixels.*save it as"):
        data.load_cifar10(str(tree), root=tmp_path / "cache", verbose=False)


def test_hidden_files_and_folders_are_skipped(tmp_path):
    tree = make_tree(tmp_path / "tree")
    (tree / "train" / "cat" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tree / "train" / "cat" / "._0000.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tree / "test" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    for where in (tree / "train" / ".ipynb_checkpoints", tree / "train" / "cat" / ".ipynb_checkpoints"):
        where.mkdir()
        (where / "untitled-checkpoint.ipynb").write_text("{}")
    loaded = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    assert loaded.train_images.shape == (20, 3, 32, 32) and loaded.test_images.shape == (20, 3, 32, 32)


def test_file_names_that_are_not_utf8_load_and_are_named_in_errors(tmp_path):
    tree = make_tree(tmp_path / "tree", per_class=1)
    latin1 = tree / "train" / "cat" / os.fsdecode(b"caf\xe9.jpg")  # "café" in Latin-1
    try:
        latin1.write_bytes(solid_jpeg(90)[1])
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system accepts only UTF-8 names")
    loaded = data.load_cifar10(str(tree), root=tmp_path / "cache", device="cpu", verbose=False)
    assert loaded.train_images.shape == (11, 3, 32, 32)
    latin1.write_bytes(b"not a jpeg")
    with pytest.raises(data.DataError) as caught:
        data.load_cifar10(str(tree), root=tmp_path / "cache", verbose=False)
    message = str(caught.value)
    assert message.encode("utf-8")  # printable: no lone surrogates
    assert str(tree) in message and r"train/cat/caf\xe9.jpg is not a readable image" in message


def test_a_missing_relative_folder_is_named_with_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = rf"unknown data source 'mydata'.*folder {tmp_path / 'mydata'}, which does not exist"
    with pytest.raises(ValueError, match=expected):
        data.load_cifar10("mydata", verbose=False)
    for source in ("mydata/cifar", pathlib.Path("mydata")):
        expected = rf"folder {tmp_path / source} does not exist \(a relative path starts at {tmp_path}, the working"
        with pytest.raises(data.DataError, match=expected):
            data.load_cifar10(source, verbose=False)


# ---------------------------------------------------------------- the embedded subset

@pytest.mark.parametrize("damage", ["truncated", "overwritten", "missing"])
def test_a_damaged_embedded_zip_is_named_with_the_fix(tmp_path, monkeypatch, damage):
    original = data.EMBEDDED_ZIP.read_bytes()
    copy = tmp_path / "cifar10-subset.zip"
    if damage == "truncated":
        copy.write_bytes(original[: len(original) // 2])
    elif damage == "overwritten":  # a run of bytes in the middle of the members: their CRC fails
        middle = len(original) // 2
        copy.write_bytes(original[:middle] + bytes(4096) + original[middle + 4096:])
    monkeypatch.setattr(data.loading, "EMBEDDED_ZIP", copy)
    with pytest.raises(data.DataError, match=rf"embedded subset {copy} is missing or damaged.*Reinstall cnnlib"):
        data.load_cifar10("embedded", verbose=False)


def test_held_out_trains_on_the_first_images_and_tests_on_every_other():
    cifar = data.load_cifar10("embedded", device="cpu", verbose=False)
    small = cifar.held_out(500)
    assert len(small.train_labels) == 500 and len(small.test_labels) == 3000 - 500 + 1000
    assert torch.equal(small.train_images, cifar.train_images[:500])
    assert torch.equal(small.test_images[:2500], cifar.train_images[500:])
    assert torch.equal(small.test_labels[2500:], cifar.test_labels)
    assert "500 images to train on, the other 3,500 held out" in small.source
