"""The effective receptive field (Luo, Li, Urtasun & Zemel 2016, "Understanding the
Effective Receptive Field in Deep Convolutional Neural Networks"): where inside the
theoretical field the gradient of one output unit really lands."""
import torch

from ..modules import device_of, in_mode


def effective_receptive_field(model, input_size=(3, 32, 32), position=None, inputs=None, reduce="abs",
                              batch_size=16):
    """|d out[centre] / d input| averaged over a batch, as a (H, W) map with maximum 1.

    model maps (B, C, H, W) images to (B, C', h, w) maps and runs in eval mode.
    The output unit is position (row, column) of the map, its centre by
    default, summed over channels. inputs defaults to batch_size images of
    standard normal noise. reduce: "abs" sums |gradient| over input channels,
    "square" sums the squared gradient.
    """
    if reduce not in ("abs", "square"):
        raise ValueError(f"reduce must be 'abs' or 'square', got {reduce!r}")
    x = inputs if inputs is not None else torch.randn(batch_size, *input_size)
    x = x.detach().to(device_of(model)).clone().requires_grad_(True)
    with in_mode(model), torch.enable_grad():
        out = model(x)
        if out.dim() != 4:
            raise ValueError(f"the model must return a (B, C, h, w) feature map, got shape {tuple(out.shape)}; "
                             "pass its convolutional part (e.g. model.features)")
        row, col = position if position is not None else (out.shape[-2] // 2, out.shape[-1] // 2)
        (grad,) = torch.autograd.grad(out[:, :, row, col].sum(), x)
    grad = grad.abs() if reduce == "abs" else grad.square()
    erf = grad.sum(1).mean(0).detach().cpu()
    return erf / erf.max() if erf.max() > 0 else erf
