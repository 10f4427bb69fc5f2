"""How much pitch a harmonic codec's timbre channels still hold: a linear fit of pitch from them."""
import torch
from torch import Tensor

from timbre.models.harmonic_codec import STRUCTURE_FEATURES, HarmonicCodec


def pitch_r2_from_timbre(codec: HarmonicCodec, latents: Tensor) -> float:
    """R^2 of each latent frame's first pitch channel fitted by least squares (with an intercept) from its timbre
    channels, over the frames whose first periodicity channel is above the median; 0 for a clean split."""
    stride, s = codec.config.stride, codec.structure_channels
    pitch = latents[:, STRUCTURE_FEATURES.index("pitch") * stride].reshape(-1).double()
    periodicity = latents[:, STRUCTURE_FEATURES.index("periodicity") * stride].reshape(-1)
    periodic = periodicity > periodicity.median()
    x = latents[:, s:].transpose(1, 2).reshape(-1, latents.shape[1] - s)[periodic].double()
    y = pitch[periodic]
    design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    fit = design @ torch.linalg.lstsq(design, y[:, None]).solution
    return float(1 - (fit[:, 0] - y).var() / y.var())
