"""Per-channel loss weights from the codec decoder's sensitivity: an error in a latent channel costs what it costs
in the decoded log-magnitude spectrum, not the same for every channel.

A whitened codec (the spectral codec's channels are principal directions scaled to unit variance) gives its first
channel, the overall level, about 2,000 times the median channel's weight in the decoded spectrum, so a denoiser
trained with EDM's uniform latent loss leaves a residual error there that is heard as level flicker."""
import torch
from torch import Tensor

SENSITIVITY_STEP = 1e-2  # the central differences' bump, in the latent's units


@torch.no_grad()
def decoder_sensitivity(codec, latents: Tensor, step: float | Tensor = SENSITIVITY_STEP) -> Tensor:
    """(C,): the mean squared change of `codec.decode_log_magnitude` per unit squared change of each latent channel,
    measured by central differences around the given (N, C, T) latents, a step for every channel or one each (C,)."""
    decode = getattr(codec, "decode_log_magnitude", None)
    if decode is None:
        raise ValueError(f"{type(codec).__name__} has no decode_log_magnitude: decoder weights need a spectral codec")
    if latents.ndim != 3 or latents.shape[1] != codec.channels:
        raise ValueError(f"latents must be (N, {codec.channels}, frames), got {tuple(latents.shape)}")
    steps = torch.as_tensor(step, dtype=torch.float64)
    if steps.ndim > 1 or (steps.ndim == 1 and steps.shape[0] != latents.shape[1]):
        raise ValueError(f"step must be one number or one per channel ({latents.shape[1]},), got {tuple(steps.shape)}")
    steps = steps.expand(latents.shape[1])
    out = torch.empty(latents.shape[1])
    bump = torch.zeros_like(latents)
    for c in range(latents.shape[1]):
        bump[:, c] = float(steps[c])
        out[c] = (decode(latents + bump) - decode(latents - bump)).pow(2).mean() / (2 * float(steps[c])) ** 2
        bump[:, c] = 0
    return out


def channel_weights(sensitivity: Tensor, power: float, unweighted: int = 0, unweighted_weight: float = 1.0) -> Tensor:
    """(C,) loss weights max(1, s / median(s)) ** power: channels at or below the median decoder sensitivity keep
    weight 1 and the louder ones gain; power 0 is EDM's uniform loss, 1 weights by the full sensitivity. A channel
    the decoder does not read (sensitivity 0, as the harmonic codec's onset and periodicity channels) keeps 1; the
    leading `unweighted` channels (a codec's structure, when only its timbre is weighted) get `unweighted_weight`
    (1 unless asked); the median is taken over every channel either way."""
    if power < 0:
        raise ValueError(f"power must be >= 0, got {power}")
    if not bool((sensitivity >= 0).all() and torch.isfinite(sensitivity).all()):
        raise ValueError("decoder sensitivities must be finite and >= 0")
    if not float(sensitivity.median()) > 0:
        raise ValueError("the median decoder sensitivity must be positive (most channels must reach the decoder)")
    if not 0 <= unweighted <= sensitivity.shape[0]:
        raise ValueError(f"unweighted must be in [0, {sensitivity.shape[0]}], got {unweighted}")
    if not unweighted_weight > 0:
        raise ValueError(f"unweighted_weight must be > 0, got {unweighted_weight}")
    weights = (sensitivity / sensitivity.median()).clamp_min(1.0) ** power
    weights[:unweighted] = unweighted_weight
    return weights
