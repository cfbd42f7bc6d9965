"""Running a model to measure it: in eval mode (each submodule's own mode back
afterwards), and on the meta device where shapes are all that is needed."""
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
def eval_mode(model):
    """Eval mode for the duration, then every submodule's own mode back."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def device_of(model):
    return next((t.device for t in [*model.parameters(), *model.buffers()]), torch.device("cpu"))


def dtype_of(model):
    return next((t.dtype for t in model.parameters() if t.is_floating_point()), torch.get_default_dtype())
