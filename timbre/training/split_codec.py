"""Train the split codec by swap losses over renditions: melody m played by instruments a and b, and a donor melody
m' played by b. The structure of (m, a) with its own code must rebuild (m, a), and with the donor's code (m, b), so
the structure holds what is played and the code what plays it; optionally the structures of (m, a) and (m, b) must
also agree."""
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from timbre.analysis.edit_quality import held_out_items
from timbre.corpus.dataset import SAMPLE_RATE, stem_example
from timbre.corpus.instruments import INSTRUMENTS
from timbre.metrics.pitch import pitch_agreement, pitch_contour
from timbre.metrics.spectral import multi_resolution_spectral_distance
from timbre.models.split_codec import SplitCodec, SplitCodecConfig
from timbre.training.codec import evaluate_codec, log_spectral_l1, pca_linear_maps
from timbre.training.loop import Progress, fit, seeded


@dataclass(frozen=True)
class SplitCodecTrainingConfig:
    """Settings of one split-codec training run."""

    steps: int = 1500
    batch: int = 8  # melody crops per step, each with a rendition and a donor
    crop_seconds: float = 2.0
    lr: float = 5e-4
    compressed_weight: float = 5.0  # as in the plain codec's spectral loss
    swap_weight: float = 1.0  # weight of the swapped rebuild against the own rebuild
    consistency_weight: float = 0.0  # weight of the structures' scale-free disagreement across renditions
    pca_crops: int = 400  # crops whose frames fit the structure's whitened-PCA start
    melodies: int = 150  # training melodies, each rendered by every instrument
    seed: int = 0
    target_latent_std: float = 0.5  # EDM's sigma_data, for each part


@dataclass(frozen=True, eq=False)
class RenditionPool:
    """Melodies rendered by every instrument: audio (M, I, S), the same notes along I."""

    audio: Tensor

    def __post_init__(self):
        if self.audio.ndim != 3 or min(self.audio.shape) < 1:
            raise ValueError(f"rendition pool audio must be (melodies, instruments, samples), got {tuple(self.audio.shape)}")
        if self.audio.shape[1] < 2:
            raise ValueError("rendition pool needs at least two instruments to swap between")


def rendition_pool(corpus_seed: int, melodies: int, split: str = "train") -> RenditionPool:
    """The split's first `melodies` stems, each rendered by every instrument."""
    rows = [[stem_example(corpus_seed, split, m, instrument=i).audio for i in range(len(INSTRUMENTS))]
            for m in range(melodies)]
    return RenditionPool(torch.from_numpy(np.stack([np.stack(r) for r in rows])))


@dataclass(frozen=True, eq=False)
class SwapBatch:
    """Crops of melody m on instruments a and b (same samples), and of a donor melody on b."""

    source: Tensor  # (B, samples) m on a
    rendition: Tensor  # (B, samples) m on b
    donor: Tensor  # (B, samples) m' on b


def swap_batch(pool: RenditionPool, count: int, samples: int, align: int, g: torch.Generator) -> SwapBatch:
    """Random triplets; a != b and m' != m whenever the pool allows."""
    m_count, i_count, width = pool.audio.shape
    if width < samples:
        raise ValueError(f"rendition pool rows are {width} samples, shorter than a {samples}-sample crop")
    melody = torch.randint(0, m_count, (count,), generator=g)
    donor = (melody + torch.randint(1, max(m_count, 2), (count,), generator=g)) % m_count
    a = torch.randint(0, i_count, (count,), generator=g)
    b = (a + torch.randint(1, i_count, (count,), generator=g)) % i_count
    room = (width - samples) // align
    starts = [(torch.randint(0, room + 1, (count,), generator=g) * align).tolist() for _ in range(2)]

    def crops(rows, cols, firsts):
        return torch.stack([pool.audio[r, c, s: s + samples] for r, c, s in zip(rows.tolist(), cols.tolist(), firsts)])

    return SwapBatch(crops(melody, a, starts[0]), crops(melody, b, starts[0]), crops(donor, b, starts[1]))


def swap_loss(codec: SplitCodec, batch: SwapBatch, config: SplitCodecTrainingConfig) -> Tensor:
    """Own rebuild + swapped rebuild (+ structure agreement across the two renditions, when weighted)."""
    n = batch.source.shape[0]
    logmag = codec.log_magnitude(torch.cat([batch.source, batch.rendition, batch.donor]))
    agree = config.consistency_weight > 0
    structure = codec.encode_structure(logmag[: 2 * n] if agree else logmag[:n])
    code = codec.encode_code(torch.cat([logmag[:n], logmag[2 * n:]]))
    rebuilt = codec.decode_parts(torch.cat([structure[:n], structure[:n]]), code)
    own = log_spectral_l1(rebuilt[:n], logmag[:n], config.compressed_weight)
    swapped = log_spectral_l1(rebuilt[n:], logmag[n: 2 * n], config.compressed_weight)
    loss = own + config.swap_weight * swapped
    if agree:
        loss = loss + config.consistency_weight * structure_disagreement(structure[:n], structure[n:])
    return loss


def structure_disagreement(a: Tensor, b: Tensor) -> Tensor:
    """Mean squared difference of two structures relative to their variance: scale-free, so shrinking the structure
    cannot lower it (a plain MSE could, and collapsed the structure in a pilot); 0 when equal, about 2 unrelated."""
    return F.mse_loss(a, b) / (0.5 * (a.var() + b.var()) + 1e-8)


def train_split_codec(model_config: SplitCodecConfig, config: SplitCodecTrainingConfig, pool: RenditionPool,
                      progress: Progress | None = None) -> tuple[SplitCodec, dict]:
    """Train from scratch, deterministically for a given seed; returns the codec with both part scales set."""
    codec = seeded(lambda: SplitCodec(replace(model_config, structure_scale=1.0, timbre_scale=1.0)), config.seed)
    g = torch.Generator().manual_seed(config.seed)
    samples = int(config.crop_seconds * model_config.sample_rate)
    crops = swap_batch(pool, config.pca_crops, samples, codec.hop_length, g).source
    pca_linear_maps(codec.enc_linear, codec.dec_linear, codec.stack(codec.fine_structure(codec.log_magnitude(crops))))
    metrics = fit(codec, config.steps, config.lr, lambda _: swap_loss(
        codec, swap_batch(pool, config.batch, samples, codec.hop_length, g), config), progress)
    with torch.no_grad():
        logmag = codec.log_magnitude(swap_batch(pool, 64, samples, codec.hop_length, g).source)
        structure, code = codec.encode_structure(logmag), codec.encode_code(logmag)
    scales = {"structure_scale": config.target_latent_std / float(structure.std()),
              "timbre_scale": config.target_latent_std / float(code.std())}
    scaled = SplitCodec(replace(model_config, **scales))
    scaled.load_state_dict(codec.state_dict())
    return scaled.eval(), metrics


@torch.no_grad()
def evaluate_split_codec(codec: SplitCodec, corpus_seed: int, stems: int = 30, split: str = "test") -> dict:
    """The plain codec's round-trip evaluation, and the donor swap on held-out melodies: each keeps its structure
    and takes the code of another melody on the target instrument. Its pitch is compared with the source's, and its
    spectral distance to the rendition (the same notes on the target) with the unchanged source's."""
    items = held_out_items(corpus_seed, stems, 4.0, len(INSTRUMENTS), split)
    swapped = codec.decode(codec.swap_timbre(codec.encode(items.waves), codec.encode(items.donors)))
    swapped = swapped[:, : items.waves.shape[1]]
    pitch = pitch_agreement(pitch_contour(items.waves, SAMPLE_RATE),
                            pitch_contour(swapped, SAMPLE_RATE, reference=items.waves))
    return {**evaluate_codec(codec, corpus_seed, stems, split), "swap_items": stems,
            "swap_distance_to_rendition": float(multi_resolution_spectral_distance(items.renditions, swapped).mean()),
            "source_distance_to_rendition": float(
                multi_resolution_spectral_distance(items.renditions, items.waves).mean()),
            **{f"swap_pitch_{k}": v for k, v in pitch.items()}}
