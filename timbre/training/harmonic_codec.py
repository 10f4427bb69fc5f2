"""Fit the harmonic codec on the synthetic corpus: structure channels standardised, the timbre features' mean per
register (when the codec has knots) least-squares fitted, timbre channels a whitened PCA of what is left, every
channel scaled to the latents' target std."""
from dataclasses import dataclass

import torch

from timbre.models.harmonic_codec import HarmonicCodec, HarmonicCodecConfig
from timbre.models.pitch_register import fit_register_values, register_weights
from timbre.training.codec import pca_linear_maps
from timbre.training.pool import Pool, random_crops


@dataclass(frozen=True)
class HarmonicCodecTrainingConfig:
    """Settings of one harmonic-codec fit."""

    pca_crops: int = 400  # crops whose frames fit the standardisation and the PCA
    crop_seconds: float = 2.0
    seed: int = 0  # crop sampling


@torch.no_grad()
def train_harmonic_codec(model_config: HarmonicCodecConfig, config: HarmonicCodecTrainingConfig, pool: Pool,
                         progress=None) -> tuple[HarmonicCodec, dict]:
    """Fit from the pool's crops, deterministically for a given seed; returns the codec and the share of the timbre
    features' variance its channels keep. There are no optimiser steps, so `progress` (the stages' common
    signature) is never called."""
    codec = HarmonicCodec(model_config)
    g = torch.Generator().manual_seed(config.seed)
    crops = random_crops(pool, config.pca_crops, int(config.crop_seconds * model_config.sample_rate), g).audio
    frames = [codec.analyse(codec.log_magnitude(crops[first: first + 50])) for first in range(0, crops.shape[0], 50)]
    register = {}
    if model_config.register_knots:
        hz = torch.cat([f.hz.reshape(-1) for f in frames])
        raw = torch.cat([codec.raw_timbre(f).transpose(1, 2).reshape(-1, model_config.timbre_features) for f in frames])
        weights = register_weights(hz, model_config.register_knots, model_config.low_hz, model_config.high_hz)
        codec.register_mean.copy_(fit_register_values(weights, raw).T)
        left = raw - weights @ codec.register_mean.T
        register = {"register_variance_explained": 1 - float(left.var(0).sum() / raw.var(0).sum())}
    structure, timbre = (torch.cat(parts) for parts in zip(*(codec.frames_to_features(f) for f in frames)))
    flat = structure.transpose(1, 2).reshape(-1, structure.shape[1])
    codec.structure_mean.copy_(flat.mean(0))
    codec.structure_std.copy_(flat.std(0).clamp_min(1e-6))
    pca_linear_maps(codec.enc_linear, codec.dec_linear, timbre)
    std = model_config.timbre_latent_std or model_config.latent_std
    codec.enc_linear.weight.mul_(std)
    codec.enc_linear.bias.mul_(std)
    codec.dec_linear.weight.div_(std)
    rebuilt = codec.dec_linear(codec.enc_linear(timbre))
    kept = 1 - float((rebuilt - timbre).pow(2).sum() / (timbre - timbre.mean((0, 2), keepdim=True)).pow(2).sum())
    return codec.eval(), {"frames": int(flat.shape[0]), "timbre_variance_kept": kept, **register}
