"""cnnlib: the small library shared by the notebooks of *CNN architectures, hands-on*."""

__version__ = "0.3.0"
