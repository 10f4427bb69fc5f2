"""Train the DiT denoiser on codec latents with EDM's objective and condition dropout for CFG."""
import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from timbre.corpus.instruments import INSTRUMENT_NAMES
from timbre.corpus.prompts import TRAIN_TEMPLATES, prompt
from timbre.denoisers import EDMPrecond
from timbre.models.dit import DiT, DiTConfig
from timbre.models.layers import use_one_product_gradients
from timbre.models.protocols import Conditioner, always_known_count
from timbre.training.codec import compressed_magnitude
from timbre.training.loop import Progress, fit, seeded
from timbre.training.pool import Pool


@dataclass(frozen=True)
class DenoiserTrainingConfig:
    """Settings of one denoiser training run."""

    steps: int = 2500  # optimiser steps
    batch: int = 32  # latent crops per step
    crop_frames: int = 64  # latent frames per crop (2 s at 31.25 frames/s)
    lr: float = 5e-4  # AdamW learning rate after a 100-step warm-up, cosine-decayed to 5% of it
    p_mean: float = -1.2  # log-normal training sigmas (Karras et al. 2022): mean of log sigma
    p_std: float = 1.2  # ... and its standard deviation
    sigma_data: float = 0.5  # the latents' std (the codec scales them to it)
    cond_dropout: float = 0.1  # share of items trained with the null condition, for CFG
    audio_condition_share: float = 0.5  # of the rest: conditioned on another same-instrument clip's audio embedding
    ema: float = 0.998  # decay of the weight average that is returned; ema_rate's warm-up ramp stays below it until
    # step 4,490, so over 2,500 steps the shipped average is the ramp's (a power-function average, gamma about 8)
    known_share: float = 0.0  # share of items that also see clean known channels (needs DiTConfig.known_input)
    known_extra: float = 0.75  # ... where besides the always-known structure channels each channel is known with a
    # probability drawn uniformly from [0, known_extra], so any MI-inpaint split is in the training distribution
    always_known: int | None = None  # how many of the codec's leading structure channels an inpainting item always
    # sees known; None: all of them. 4 with the harmonic codec: its pitch and onset, its periodicity (the flute's
    # breath, ranked third by instrument MI) then known only as the timbre channels are, so edits may regenerate it
    decoder_weighting: float = 0.0  # power of the decoder-sensitivity channel weights (timbre.training.decoder_weights);
    # 0 is EDM's uniform latent loss
    weight_structure: bool = True  # False: the codec's structure channels keep weight 1, only its timbre is weighted
    structure_weight: float = 1.0  # with weight_structure False: the structure channels' weight instead of 1 (they are
    # scored only on the items that do not see them known, and a generated pitch must be exact to a few cents)
    stem_share: float | None = None  # share of the crops drawn from the pool's melodic stems (the rest from its
    # single notes; the pool's row_weights); None: every pool row alike, so at the full scale five crops in six are a
    # note of 1 s and its silence, where generations and edits are melodies
    spectral_weight: float = 0.0  # weight of an L1 between the power-compressed decoded magnitudes of the denoised and
    # the clean latents (the codec's own peak-weighting term), beside the latent loss; 0 is off
    one_product_gradients: bool = False  # the adaLN layers' weight gradients as one matrix product each, not one outer
    # product per item summed (timbre.models.layers.OneProductGradients): a faster CPU step, other low bits, so a
    # scale trained with it does not reproduce weights trained without
    seed: int = 0  # initialisation and sampling

    def __post_init__(self):
        if self.structure_weight != 1.0 and (self.decoder_weighting <= 0 or self.weight_structure):
            raise ValueError("structure_weight needs the timbre-weighted loss (decoder_weighting > 0 and "
                             f"weight_structure False), got decoder_weighting {self.decoder_weighting} and "
                             f"weight_structure {self.weight_structure}")
        if self.always_known is not None and self.always_known < 0:
            raise ValueError(f"always_known must be None (every structure channel) or >= 0, got {self.always_known}")
        if self.stem_share is not None and not 0 <= self.stem_share <= 1:
            raise ValueError(f"stem_share must be None (rows alike) or a share in [0, 1], got {self.stem_share}")


@dataclass(frozen=True, eq=False)
class ConditionTables:
    """Precomputed conditions: prompt embeddings per (instrument, template) and an audio embedding per pool row."""

    text: Tensor  # (classes, templates, dim)
    audio: Tensor  # (N, dim)
    row_instruments: Tensor  # (N,) instrument of each audio row
    null: Tensor  # (dim,)


@torch.no_grad()
def condition_tables(conditioner: Conditioner, pool: Pool, batch: int = 32) -> ConditionTables:
    """Embed every training prompt, and every pool row over its true length."""
    text = torch.stack([conditioner.embed_text([prompt(name, t) for t in TRAIN_TEMPLATES]) for name in INSTRUMENT_NAMES])
    audio = torch.empty(pool.audio.shape[0], conditioner.dim)
    for length in pool.lengths.unique().tolist():
        rows = (pool.lengths == length).nonzero()[:, 0]
        for chunk in rows.split(batch):
            audio[chunk] = conditioner.embed_audio(pool.audio[chunk, :length])
    return ConditionTables(text, audio, pool.instruments.clone(), torch.zeros(conditioner.dim))


def draw_conditions(tables: ConditionTables, instruments: Tensor, config: DenoiserTrainingConfig,
                    g: torch.Generator) -> Tensor:
    """(B, dim): the null condition with probability cond_dropout; otherwise a random prompt of the item's
    instrument, or (audio_condition_share of the time) the audio embedding of a random same-instrument row, as a
    reference recording conditions an edit."""
    b = instruments.shape[0]
    u = torch.rand(b, generator=g)
    cond = tables.text[instruments, torch.randint(0, tables.text.shape[1], (b,), generator=g)].clone()
    by_audio = u >= config.cond_dropout + (1 - config.cond_dropout) * (1 - config.audio_condition_share)
    for i in by_audio.nonzero()[:, 0].tolist():
        same = (tables.row_instruments == instruments[i]).nonzero()[:, 0]
        cond[i] = tables.audio[same[int(torch.randint(0, len(same), (1,), generator=g))]]
    cond[u < config.cond_dropout] = tables.null
    return cond


def draw_known_mask(batch: int, structure: Tensor, config: DenoiserTrainingConfig, g: torch.Generator) -> Tensor:
    """(B, C) bool: for known_share of the items, the structure channels and each other channel with a probability
    drawn from [0, known_extra]; nothing for the rest."""
    rate = torch.rand(batch, 1, generator=g) * config.known_extra
    mask = structure[None] | (torch.rand(batch, structure.shape[0], generator=g) < rate)
    return mask & (torch.rand(batch, 1, generator=g) < config.known_share)


def always_known_channels(channels: int, structure_channels: int, config: DenoiserTrainingConfig) -> Tensor:
    """(C,) bool: the channels an inpainting item always sees known, the codec's first `structure_channels` or the
    first `config.always_known` of them."""
    if config.always_known is not None and config.always_known > structure_channels:
        raise ValueError(f"always_known ({config.always_known}) is more than the codec's {structure_channels} "
                         "structure channels")
    return torch.arange(channels) < always_known_count(structure_channels, config.always_known)


def edm_lambda(sigma: Tensor, sigma_data: float) -> Tensor:
    """EDM's loss weight lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 (Karras et al. 2022, Table 1)."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def edm_loss(denoiser: EDMPrecond, x: Tensor, cond: Tensor, config: DenoiserTrainingConfig,
             g: torch.Generator, known: Tensor | None = None, channel_weights: Tensor | None = None,
             decode: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """EDM's weighted denoising loss (Karras et al. 2022, eq. 8 with Table 1's log-normal sigmas and lambda); with a
    (B, C) known-channel mask the network also reads those channels clean and is scored on the others only; with
    (C,) channel weights each channel's squared error is scaled by its weight; with config.spectral_weight > 0 and
    the codec's `decode` (latents -> log-magnitudes) it adds the spectral term of `spectral_term`."""
    sigma = (torch.randn(x.shape[0], generator=g) * config.p_std + config.p_mean).exp().to(x.device)
    noise = torch.randn(x.shape, generator=g).to(x.device) * sigma[:, None, None]
    weight = edm_lambda(sigma, config.sigma_data)
    per_channel = 1.0 if channel_weights is None else channel_weights.to(x.device)[None, :, None]
    if config.spectral_weight > 0 and decode is None:
        raise ValueError("spectral_weight > 0 needs the codec's decode_log_magnitude")
    if known is None:
        denoised = denoiser(x + noise, sigma, cond)
        loss = (weight[:, None, None] * per_channel * (denoised - x) ** 2).mean()
    else:
        known = known.to(x.device)
        scored = (~known).to(x.dtype)[..., None].expand_as(x)
        denoised = denoiser(x + noise, sigma, {"embedding": cond, "known": x, "mask": known})
        error = per_channel * (denoised - x) ** 2
        loss = (weight[:, None, None] * error * scored).sum() / scored.sum().clamp_min(1)
    if config.spectral_weight > 0:
        full = denoised if known is None else torch.where(known[..., None], x, denoised)  # known channels: clean
        loss = loss + config.spectral_weight * spectral_term(decode, full, x, weight)
    return loss


def spectral_term(decode: Callable[[Tensor], Tensor], denoised: Tensor, x: Tensor, weight: Tensor) -> Tensor:
    """Mean over items of sqrt(lambda(sigma)) times the L1 between the power-compressed magnitudes |X|^0.3 decoded
    from the denoised and the clean latents: the codec's loss term that weights the loud harmonics (an error there
    is a smeared peak), scaled like the latent term so that every noise level counts alike (the L1 grows as the
    root of the squared error EDM's lambda normalises)."""
    with torch.no_grad():
        target = compressed_magnitude(decode(x))
    per_item = (compressed_magnitude(decode(denoised)) - target).abs().flatten(1).mean(1)
    return (weight.sqrt() * per_item).mean()


def latent_batch(latents: Tensor, frames_per_row: Tensor, count: int, crop: int, g: torch.Generator,
                 row_weights: Tensor | None = None):
    """Random (count, C, crop) crops within each row's real frames, and their rows: rows drawn alike, or in
    proportion to `row_weights` (N,)."""
    if row_weights is None:
        rows = torch.randint(0, latents.shape[0], (count,), generator=g)
    else:
        rows = torch.multinomial(row_weights, count, replacement=True, generator=g)
    room = (frames_per_row[rows] - crop).clamp_min(0)
    starts = (torch.rand(count, generator=g) * (room + 1)).long().clamp(max=room)
    return torch.stack([latents[r, :, s: s + crop] for r, s in zip(rows.tolist(), starts.tolist())]), rows


def ema_rate(decay: float, step: int) -> float:
    """The share of the new weights an exponential moving average takes at `step` (0-based): 1 - decay, with the
    decay ramped up as (1 + step) / (10 + step) so the first steps do not stay stuck to the initialisation. The ramp
    stays below a decay of 0.998 until step 4,490, so over 2,500 steps it alone sets the average: the weight of step
    s then grows about as s^8, EDM2's power-function average with gamma 8 (Karras et al. 2024, section 3.1)."""
    return 1 - min(decay, (1 + step) / (10 + step))


def power_function_rate(gamma: float, step: int) -> float:
    """The share of the new weights EDM2's power-function average takes at `step` (0-based): 1 - (1 - 1/t)^(gamma+1)
    with t = step + 1, so the weight of step s in the average grows as s^gamma (Karras et al. 2024, eq. 3)."""
    return 1 - (1 - 1 / (step + 1)) ** (gamma + 1)


@torch.no_grad()
def update_weight_average(average: nn.Module, net: nn.Module, rate: float) -> None:
    """Move each averaged weight the share `rate` of the way to the network's."""
    for a, p in zip(average.parameters(), net.parameters()):
        a.lerp_(p, rate)


def train_denoiser(model_config: DiTConfig, config: DenoiserTrainingConfig, latents: Tensor, frames_per_row: Tensor,
                   tables: ConditionTables, progress: Progress | None = None,
                   structure_channels: int = 0, device: str | torch.device = "cpu",
                   channel_weights: Tensor | None = None,
                   after_step: Callable[[int, DiT], None] | None = None,
                   decode: Callable[[Tensor], Tensor] | None = None,
                   row_weights: Tensor | None = None) -> tuple[DiT, dict]:
    """Train from scratch, deterministically for a given seed; returns the weight average (EMA), on the CPU. The
    codec's first `structure_channels` channels are its structure: always among the known ones when an item has
    any (the first `config.always_known` of them when that is set). The network trains on `device`; every random
    draw comes from one CPU generator, so a run's batches, conditions and noise do not depend on the device.
    `channel_weights` (C,) scale each channel's loss;
    `after_step(step, net)` sees the raw network after every optimiser step (to keep other weight averages);
    `decode` (latents -> log-magnitudes, the frozen codec's, on `device`) serves config.spectral_weight (edm_loss
    refuses its absence on the first step); `row_weights` (N,) draw the crops' rows in proportion to them (every row
    alike without them)."""
    if latents.ndim != 3 or latents.shape[1] != model_config.channels:
        raise ValueError(f"latents must be (N, {model_config.channels}, frames), got {tuple(latents.shape)}")
    if config.known_share > 0 and not model_config.known_input:
        raise ValueError("known_share > 0 needs a DiT that reads known channels (DiTConfig.known_input=True)")
    if channel_weights is not None and channel_weights.shape != (model_config.channels,):
        raise ValueError(f"channel_weights must be ({model_config.channels},), got {tuple(channel_weights.shape)}")
    if latents.shape[-1] < config.crop_frames:
        raise ValueError(f"latent rows have {latents.shape[-1]} frames, fewer than a {config.crop_frames}-frame crop")
    if row_weights is not None and (row_weights.shape != latents.shape[:1] or bool((row_weights < 0).any())
                                    or not row_weights.sum() > 0):
        raise ValueError(f"row_weights must be {latents.shape[0]} non-negative weights with a positive sum, got shape "
                         f"{tuple(row_weights.shape)}")
    net = use_one_product_gradients(seeded(lambda: DiT(model_config), config.seed), config.one_product_gradients)
    net = net.to(device)
    if channel_weights is not None:
        channel_weights = channel_weights.to(device)  # once, not a host-to-device copy every step
    average = copy.deepcopy(net).requires_grad_(False)
    denoiser = EDMPrecond(net, config.sigma_data)
    g = torch.Generator().manual_seed(config.seed)

    structure = always_known_channels(model_config.channels, structure_channels, config)

    def batch_loss(_: int) -> Tensor:
        x, rows = latent_batch(latents, frames_per_row, config.batch, config.crop_frames, g, row_weights)
        cond = draw_conditions(tables, tables.row_instruments[rows], config, g)
        known = draw_known_mask(x.shape[0], structure, config, g) if config.known_share > 0 else None
        return edm_loss(denoiser, x.to(device), cond.to(device), config, g, known, channel_weights, decode)

    def update_average(step: int) -> None:
        update_weight_average(average, net, ema_rate(config.ema, step))
        if after_step is not None:
            after_step(step, net)

    metrics = fit(net, config.steps, config.lr, batch_loss, progress, warmup=100, clip=1.0, adamw=True,
                  after_step=update_average)
    return use_one_product_gradients(average.cpu().eval(), False), metrics  # a training setting, not the model's
