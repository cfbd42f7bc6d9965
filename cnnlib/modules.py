"""Small facts about a model that many modules need: where its weights are, in
which dtype, and running it in one mode for a while (every submodule's own mode
back afterwards), or on the meta device where shapes are all that is needed."""
import contextlib

import torch


def forward(model, x):
    """model(x); on the meta device the weights are swapped for meta tensors of the same shapes."""
    if x.device.type != "meta":
        return model(x)
    state = {name: torch.empty_like(t, device="meta")
             for name, t in [*model.named_parameters(), *model.named_buffers()]}
    return torch.func.functional_call(model, state, (x,))


@contextlib.contextmanager
def in_mode(model, training=False):
    """Evaluation mode (or training mode) for the duration, then every submodule's own mode back."""
    modes = {m: m.training for m in model.modules()}
    model.train(training)
    try:
        yield model
    finally:
        for m, was in modes.items():
            m.training = was


def device_of(model):
    """The device of the model's first weight (or buffer); the CPU for a model without either."""
    return next((t.device for t in [*model.parameters(), *model.buffers()]), torch.device("cpu"))


def dtype_of(model):
    """The dtype of the model's first floating-point weight."""
    return next((t.dtype for t in model.parameters() if t.is_floating_point()), torch.get_default_dtype())
