"""CIFAR-10 as uint8 tensors on the training device, and batches made there.

Three sources of the same ten classes:

- "torchvision": the original CIFAR-10 release as torchvision describes it,
  downloaded once (download.py: every wait bounded, the archive checked
  against its MD5) into the data folder (default ~/.cache/cnnlib, or
  $CNNLIB_DATA, or `root=`);
- a path: any ImageFolder tree, train/<class>/*.jpg and test/<class>/*.jpg
  (imagefolder.py: decoded once, then cached);
- "embedded": 4,000 real CIFAR-10 images shipped inside cnnlib (embedded/),
  for offline use and tests.

"auto" takes the original set when it is on disk or can be downloaded, and the
embedded subset otherwise. Images are decoded once (and a folder's decoded
tensors cached), then the whole split lives on the device. Sources stored by
class (the embedded set, ImageFolder trees) are shuffled once at load with a
fixed seed, so any slice such as `test_images[:20]` holds every class.
Training batches are shuffled, cropped, flipped and normalized on the device
(batches.py): no PIL and no per-image Python in the training loop.
"""

from . import batches
from .cifar10 import CLASSES, SPLITS, Cifar10, DataError
from .loading import DATA_VARIABLE, EMBEDDED_ZIP, FULL_SET_HINT, SOURCES, load_cifar10

__all__ = ["batches", "CLASSES", "SPLITS", "Cifar10", "DataError", "DATA_VARIABLE", "EMBEDDED_ZIP",
           "FULL_SET_HINT", "SOURCES", "load_cifar10"]
