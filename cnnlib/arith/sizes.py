"""The output size of a convolution or pooling along one axis (Dumoulin & Visin
2016, "A guide to convolution arithmetic for deep learning", Sec. 2-5)."""


def output_size(n, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Output size along one axis: floor((n + 2*padding - dilation*(kernel-1) - 1) / stride) + 1.

    ceil_mode (pooling) rounds up instead, but, as in PyTorch, drops a last
    window that would start inside the right padding.
    """
    span = dilation * (kernel - 1) + 1  # the window's extent, holes included
    room = n + 2 * padding - span
    out = (room + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    if out < 1:
        raise ValueError(
            f"output size would be {out}: a window of {span} px (kernel {kernel}, dilation {dilation}) "
            f"does not fit in {n} px of input with {padding} px of padding on each side"
        )
    return out
