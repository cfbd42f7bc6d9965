"""The model registry: every builder registers itself under its name."""

_BUILDERS = {}


def register(builder):
    """Decorator: make `builder` available as cnnlib.models.create(builder.__name__)."""
    name = builder.__name__
    if name in _BUILDERS:
        raise ValueError(f"model {name!r} is registered twice")
    _BUILDERS[name] = builder
    return builder


def create(name, **options):
    """Build the model registered as `name`, passing `options` to its builder."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise KeyError(f"no model named {name!r}; the registered names are: {', '.join(names())}") from None
    return builder(**options)


def names():
    return sorted(_BUILDERS)
