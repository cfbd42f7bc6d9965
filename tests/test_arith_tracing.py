"""arith.tracing: what the tracer refuses, with a message naming the operation and the
module, and what it still follows (issue 11: no silent wrong answers)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnlib import arith
from cnnlib.arith import TracingError


class ConvThen(nn.Module):
    """A 3x3 convolution, then `then` (a module or a function of the map)."""

    def __init__(self, then, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3)
        self.then = then

    def forward(self, x):
        return self.then(self.conv(x))


@pytest.mark.parametrize("model, named", [
    (ConvThen(nn.Upsample(scale_factor=2)), "interpolate in 'then' (Upsample)"),
    (ConvThen(lambda y: F.interpolate(y, size=(20, 20), mode="bilinear")), "interpolate in the model (ConvThen)"),
    (ConvThen(nn.ConvTranspose2d(4, 4, 2, stride=2)), "conv_transpose2d in 'then' (ConvTranspose2d)"),
    (ConvThen(nn.PixelShuffle(2)), "pixel_shuffle in 'then' (PixelShuffle)"),
    (ConvThen(lambda y: torch.roll(y, 1, dims=3)), "roll in the model (ConvThen)"),
    (ConvThen(lambda y: y.roll(2, 2)), "roll in the model (ConvThen)"),
])
def test_upsampling_transposed_convolutions_pixel_shuffle_and_roll_are_refused(model, named):
    with pytest.raises(TracingError, match=named.replace("(", r"\(").replace(")", r"\)")) as refusal:
        arith.receptive_field(model, 16)
    assert "receptive_field follows convolutions" in str(refusal.value)  # and says what is supported
    assert isinstance(refusal.value, ValueError)


class Branchy(nn.Module):
    """Pools only when the image is bright on average: two paths, chosen by the data."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return F.max_pool2d(y, 2) if x.mean() > 0 else y


def test_data_dependent_control_flow_is_refused():
    with pytest.raises(TracingError, match="different paths for different inputs"):
        arith.receptive_field(Branchy(), 16)


def test_a_value_read_that_does_not_change_the_path_still_traces():
    class Checked(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            if not torch.isfinite(x).all():  # reads a value: no meta run, two real ones
                raise ValueError("non-finite input")
            return F.max_pool2d(self.conv(x), 2)

    rf = arith.receptive_field(Checked(), 16)
    assert (rf.field_size, rf.jump, rf.map_size) == (4, 2, 7)


@pytest.mark.parametrize("then", [
    lambda y: y.permute(0, 2, 3, 1),
    lambda y: y.transpose(2, 3),
    lambda y: y.movedim(1, 3),
    lambda y: y.flip(3),
    lambda y: y.softmax(dim=-1),
    lambda y: y.cumsum(2),
    lambda y: torch.sort(y).values,
])
def test_operations_that_move_or_mix_positions_are_refused(then):
    with pytest.raises(TracingError, match="spatial axes|along a spatial axis"):
        arith.receptive_field(ConvThen(then), 16)


def shuffle_channels(y, groups=2):
    """ShuffleNet's channel shuffle: a 5-D view, a transpose of the two channel axes, back to 4-D."""
    b, c, h, w = y.shape
    return y.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


@pytest.mark.parametrize("then", [
    shuffle_channels,
    lambda y: y.flip(1),
    lambda y: y.softmax(dim=1),
    lambda y: y.permute(0, 1, 2, 3).contiguous(),
    lambda y: y.to(memory_format=torch.channels_last),
])
def test_operations_on_channels_keep_the_field(then):
    rf = arith.receptive_field(ConvThen(then), 16)
    assert (rf.field_size, rf.jump, rf.effective_padding, rf.map_size) == (3, 1, 0, 14)


def test_an_unknown_change_of_map_size_is_refused():
    with pytest.raises(TracingError, match="turns a 14x14 map into a 28x7 one"):
        arith.receptive_field(ConvThen(lambda y: y.reshape(1, 4, 28, 7)), 16)
    with pytest.raises(TracingError, match="makes a 14x14 map"):  # back from a flattened map
        arith.receptive_field(ConvThen(lambda y: y.flatten(1).reshape(1, 4, 14, 14)), 16)


def test_circular_padding_is_refused_and_reflection_counts_as_padding():
    with pytest.raises(TracingError, match="circular padding"):
        arith.receptive_field(nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular"), 16)
    reflected = arith.receptive_field(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), 16)
    zeros = arith.receptive_field(nn.Conv2d(3, 4, 3, padding=1), 16)
    assert reflected.box(0, 15) == zeros.box(0, 15) == ((-1, 1), (14, 16))
    assert reflected.map_size == zeros.map_size == 16


def test_losing_the_spatial_axes_still_means_the_whole_map():
    tokens = ConvThen(lambda y: y.flatten(2).transpose(1, 2).mean(1), channels=8)  # a ViT-style head
    rf = arith.receptive_field(tokens, 16)
    assert rf.global_pooling and (rf.layer, rf.field_size, rf.map_size) == ("conv", 3, 14)
