import pytest
import torch

from timbre.training.decoder_weights import channel_weights, decoder_sensitivity


class LinearDecoder:
    """A codec whose decoded log-magnitude is W z: each channel's sensitivity is its column's mean square."""

    channels = 3

    def __init__(self):
        self.w = torch.tensor([[4.0, 0.5, 0.0], [2.0, -0.5, 1.0]])  # (features, channels)

    def decode_log_magnitude(self, z):
        return torch.einsum("dc,nct->ndt", self.w, z)


def test_the_sensitivity_of_a_linear_decoder_is_each_columns_mean_square():
    codec = LinearDecoder()
    got = decoder_sensitivity(codec, torch.randn(4, 3, 10))
    assert torch.allclose(got, codec.w.pow(2).mean(0), rtol=1e-4)  # 10, 0.25, 0.5


class CubicDecoder:
    """A codec whose decoded log-magnitude is z^3: the central difference with step h reads 3 z^2 + h^2 exactly, in
    one of its three features."""

    channels = 3

    def decode_log_magnitude(self, z):
        return z.double() ** 3


def test_each_channel_is_measured_with_its_own_step():
    z = torch.full((2, 3, 5), 0.5)
    steps = torch.tensor([0.1, 0.2, 0.4])
    got = decoder_sensitivity(CubicDecoder(), z, steps)
    assert torch.allclose(got, (0.75 + steps ** 2) ** 2 / 3, rtol=1e-5)  # 0.1925, 0.2080, 0.2760
    assert torch.allclose(decoder_sensitivity(CubicDecoder(), z, 0.2), torch.full((3,), 0.79 ** 2 / 3), rtol=1e-5)
    with pytest.raises(ValueError, match=r"step must be one number or one per channel \(3,\), got \(2,\)"):
        decoder_sensitivity(CubicDecoder(), z, steps[:2])


def test_sensitivity_refuses_a_codec_without_a_spectral_decoder_and_bad_latents():
    with pytest.raises(ValueError, match="object has no decode_log_magnitude"):
        decoder_sensitivity(object(), torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"latents must be \(N, 3, frames\)"):
        decoder_sensitivity(LinearDecoder(), torch.zeros(1, 2, 4))


def test_weights_lift_only_the_channels_above_the_median_by_the_power_of_their_ratio():
    s = torch.tensor([0.5, 1.0, 2.0, 400.0, 1.0])  # median 1
    assert torch.equal(channel_weights(s, 0.0), torch.ones(5))
    assert torch.allclose(channel_weights(s, 0.5), torch.tensor([1.0, 1.0, 2**0.5, 20.0, 1.0]))
    assert torch.allclose(channel_weights(s, 1.0), torch.tensor([1.0, 1.0, 2.0, 400.0, 1.0]))
    with pytest.raises(ValueError, match="power must be >= 0"):
        channel_weights(s, -1.0)
    unread = torch.tensor([0.0, 1.0, 4.0])  # a channel the decoder ignores keeps weight 1
    assert torch.allclose(channel_weights(unread, 1.0), torch.tensor([1.0, 1.0, 4.0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        channel_weights(torch.tensor([-1.0, 1.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        channel_weights(torch.tensor([float("nan"), 1.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="median decoder sensitivity must be positive"):
        channel_weights(torch.tensor([0.0, 0.0, 1.0]), 1.0)


def test_the_default_codec_reads_its_pitch_channels_far_above_the_rest_and_no_other_structure():
    from timbre.models.bundle import load_bundle
    from timbre.models.protocols import structure_channels
    bundle = load_bundle("default")
    z = torch.randn(2, bundle.codec.channels, 16, generator=torch.Generator().manual_seed(0)) * 0.5
    s = decoder_sensitivity(bundle.codec, z)
    assert int(s.argmax()) in (0, 1) and float(s[:2].min() / s.median()) > 100  # measured about 2,200
    assert torch.all(s[2: structure_channels(bundle.codec)] == 0)  # onset and periodicity are never rendered


def test_leading_unweighted_channels_keep_weight_one_and_leave_the_others_and_the_median_alone():
    s = torch.tensor([400.0, 9.0, 0.5, 1.0, 1.0, 1.0, 4.0])  # median 1, the leading channels counted in it
    assert torch.allclose(channel_weights(s, 1.0, unweighted=2), torch.tensor([1.0, 1, 1, 1, 1, 1, 4]))
    assert torch.allclose(channel_weights(s, 0.5, unweighted=1), torch.tensor([1.0, 3, 1, 1, 1, 1, 2]))
    assert torch.equal(channel_weights(s, 1.0, unweighted=7), torch.ones(7))
    assert torch.allclose(channel_weights(s, 1.0, unweighted=2, unweighted_weight=30.0),
                          torch.tensor([30.0, 30, 1, 1, 1, 1, 4]))
    with pytest.raises(ValueError, match="unweighted_weight must be > 0"):
        channel_weights(s, 1.0, unweighted=2, unweighted_weight=0.0)
    for bad in (-1, 8):
        with pytest.raises(ValueError, match=r"unweighted must be in \[0, 7\]"):
            channel_weights(s, 1.0, unweighted=bad)
