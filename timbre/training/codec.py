"""Train the spectral codec on the synthetic corpus: L1 between log-magnitude spectra, then scale the latents."""
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from timbre.audio import fit_length
from timbre.corpus.dataset import SAMPLE_RATE, note_example, stem_example
from timbre.metrics.pitch import pitch_agreement, pitch_contour
from timbre.metrics.spectral import multi_resolution_spectral_distance
from timbre.models.codec import SpectralCodec, SpectralCodecConfig, griffin_lim


@dataclass(frozen=True)
class CodecTrainingConfig:
    """Settings of one codec training run."""

    steps: int = 3000  # optimiser steps
    batch: int = 16  # crops per step
    crop_seconds: float = 2.0  # crop length
    lr: float = 1e-3  # Adam learning rate, cosine-decayed to 5% of it
    stems: int = 300  # training stems rendered for the pool (10 s each)
    notes: int = 1500  # training notes rendered for the pool (1 s each, zero-padded)
    corpus_seed: int = 0  # which corpus
    seed: int = 0  # initialisation and crop sampling
    target_latent_std: float = 0.5  # EDM's sigma_data


def training_pool(corpus_seed: int, stems: int, notes: int, seconds: float,
                  split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Stems and notes rendered once: (N, S) float32 at 16 kHz, zero-padded, and each row's true length.

    Crops must stay within a row's true length: padded rows would otherwise feed mostly silence."""
    n = int(seconds * SAMPLE_RATE)
    clips = [stem_example(corpus_seed, split, i).audio for i in range(stems)]
    clips += [fit_length(note_example(corpus_seed, split, i).audio, n) for i in range(notes)]
    width = max(len(c) for c in clips)
    pool = torch.from_numpy(np.stack([fit_length(c, width) for c in clips]))
    return pool, torch.tensor([len(c) for c in clips])


def random_crops(pool: torch.Tensor, lengths: torch.Tensor, count: int, samples: int, g: torch.Generator) -> torch.Tensor:
    """`count` crops of `samples` from random pool rows, within each row's own length."""
    rows = torch.randint(0, pool.shape[0], (count,), generator=g)
    starts = (torch.rand(count, generator=g) * (lengths[rows] - samples).clamp_min(0)).long()
    return torch.stack([pool[r, s: s + samples] for r, s in zip(rows.tolist(), starts.tolist())])


def spectral_loss(codec: SpectralCodec, wave: torch.Tensor) -> torch.Tensor:
    """L1 between the input's log-magnitude spectrum (floored at -80 dB by the codec) and its reconstruction.

    The prediction is not floored: that would zero its gradient below the floor, and a decoder that drifts
    there never comes back (seen in the first training run). A spectral-convergence term on exp(prediction)
    diverged in a pilot and was dropped."""
    target = codec.log_magnitude(wave)
    return F.l1_loss(codec.decode_log_magnitude(codec.encode_log_magnitude(target)), target)


def train_codec(model_config: SpectralCodecConfig, config: CodecTrainingConfig, pool: torch.Tensor,
                lengths: torch.Tensor, progress: Callable[[int, float], None] | None = None) -> tuple[SpectralCodec, dict]:
    """Train from scratch, deterministically for a given seed; returns the codec with its latent scale set."""
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        codec = SpectralCodec(replace(model_config, latent_scale=1.0))
    g = torch.Generator().manual_seed(config.seed)
    samples = int(config.crop_seconds * model_config.sample_rate)
    optimiser = torch.optim.Adam(codec.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s / config.steps, 1.0))))
    losses = []
    codec.train()
    for step in range(config.steps):
        loss = spectral_loss(codec, random_crops(pool, lengths, config.batch, samples, g))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, float(np.mean(losses[-100:])))
    codec.eval()
    with torch.no_grad():
        latents = codec.encode(random_crops(pool, lengths, 64, samples, g))
    scaled = SpectralCodec(replace(model_config, latent_scale=config.target_latent_std / float(latents.std())))
    scaled.load_state_dict(codec.state_dict())
    return scaled.eval(), {"final_loss": float(np.mean(losses[-100:])), "steps": config.steps}


@torch.no_grad()
def evaluate_codec(codec: SpectralCodec, corpus_seed: int, stems: int = 40, split: str = "test") -> dict:
    """Round-trip quality on held-out stems: spectral distance (beside Griffin-Lim on the true magnitude, the
    phase-recovery ceiling) and frame-wise pitch agreement on the monophonic ones."""
    examples = [stem_example(corpus_seed, split, i) for i in range(stems)]
    waves = torch.from_numpy(np.stack([e.audio for e in examples]))
    rebuilt = codec.decode(codec.encode(waves))[:, : waves.shape[1]]
    c = codec.config
    magnitude = codec.log_magnitude(waves).exp()
    ceiling = griffin_lim(magnitude, c.n_fft, c.stft_hop, waves.shape[1], c.griffin_lim_iters)
    mono = [i for i, e in enumerate(examples) if e.voices == 1]
    pitch = pitch_agreement(pitch_contour(waves[mono], SAMPLE_RATE), pitch_contour(rebuilt[mono], SAMPLE_RATE))
    return {"stems": stems, "spectral_distance": float(multi_resolution_spectral_distance(waves, rebuilt).mean()),
            "spectral_distance_griffin_lim_ceiling": float(multi_resolution_spectral_distance(waves, ceiling).mean()),
            "pitch_monophonic_stems": len(mono), **{f"pitch_{k}": v for k, v in pitch.items()}}
