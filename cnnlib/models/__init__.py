"""Models of the course, one short module per architecture, all in one registry.

    cnnlib.models.create("cifar_resnet20")   # a model
    cnnlib.models.names()                    # every registered name

ImageNet configurations carry torchvision's names and parameter counts; the
configurations the course trains on CIFAR-10 carry a ``cifar_`` prefix.
"""
from ._registry import create, names, register
from . import baseline  # noqa: F401  (each import registers its builders)
from . import alexnet  # noqa: F401
from . import alexnet_towers  # noqa: F401
from . import vgg  # noqa: F401
from . import googlenet  # noqa: F401
from . import resnet  # noqa: F401
from . import densenet  # noqa: F401

__all__ = ["create", "names", "register"]
