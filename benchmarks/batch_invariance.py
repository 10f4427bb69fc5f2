"""How far each part of a bundle moves an item's output when it shares a batch (README, "Per-item randomness"): the
codec's encoding, the denoiser with and without known channels, the decoded log magnitude and the decoded wave, one
item alone against the same item first in a batch of 16 held-out 4 s melodies; what decoding one item at a time
costs against the batch; and a whole edit at the bundle's defaults (`edit_clips`), the clip alone against the same clip
beside seven others, decoded in one batch as the product does and one item at a time.
Usage: .venv/bin/python benchmarks/batch_invariance.py [--model default]"""
import argparse
import time

import numpy as np
import torch

from timbre.batch_edit import Clip, WindowConfig, edit_clips
from timbre.corpus.dataset import stem_example
from timbre.edits.defaults import edit_from_settings, with_edit_defaults
from timbre.known_channels import WithKnownChannels
from timbre.models.bundle import load_bundle


def largest_difference(one: torch.Tensor, batch: torch.Tensor) -> float:
    return float((one[0] - batch[0]).abs().max())


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec, denoiser = bundle.codec, bundle.denoiser
    samples = 4 * bundle.sample_rate
    waves = torch.stack([torch.from_numpy(stem_example(0, "test", i).audio[:samples]) for i in range(16)])
    latents = codec.encode(waves)
    print(f"encode: {largest_difference(codec.encode(waves[:1]), latents):.3g}")
    cond = bundle.conditioner.embed_text(["violin"] * 16)
    x, sigma = 3.0 * torch.randn(latents.shape, generator=torch.Generator().manual_seed(0)), torch.full((16,), 3.0)
    print(f"denoiser: {largest_difference(denoiser(x[:1], sigma[:1], cond[:1]), denoiser(x, sigma, cond)):.3g}")
    if getattr(getattr(denoiser, "net", None), "reads_known_channels", False):
        known = torch.arange(latents.shape[1]) < 6
        one = WithKnownChannels(denoiser, latents[:1], known)(x[:1], sigma[:1], cond[:1])
        print(f"denoiser reading known channels: "
              f"{largest_difference(one, WithKnownChannels(denoiser, latents, known)(x, sigma, cond)):.3g}")
    if hasattr(codec, "decode_log_magnitude"):
        one, all_ = codec.decode_log_magnitude(latents[:1]), codec.decode_log_magnitude(latents)
        print(f"decoded log magnitude: {largest_difference(one, all_):.3g}")
    start = time.perf_counter()
    batch = codec.decode(latents)
    batch_seconds = time.perf_counter() - start
    start = time.perf_counter()
    alone = torch.cat([codec.decode(latents[i: i + 1]) for i in range(16)])
    alone_seconds = time.perf_counter() - start
    print(f"decoded wave: {float((alone - batch).abs().max()):.3g} (peak {float(batch.abs().max()):.3g}); decoding 16 "
          f"in one batch {batch_seconds:.2f} s, one at a time {alone_seconds:.2f} s "
          f"({alone_seconds / batch_seconds:.1f}x)")
    whole_edits(bundle, [w[None].numpy() for w in waves[:8]])


def whole_edits(bundle, waves: list[np.ndarray]) -> None:
    """One clip's edit alone against beside seven others, decoded in one batch and one item at a time."""
    decode = bundle.codec.decode
    for method in ("mi-inpaint", "diff-tone"):
        spec, space = edit_from_settings(method, with_edit_defaults(method, {}, bundle.edit_defaults))
        clips = [Clip(f"item{i}", w, bundle.conditioner.embed_text(["violin"])) for i, w in enumerate(waves)]
        differences = []
        try:
            for per_item in (False, True):
                bundle.codec.decode = (lambda z: torch.cat([decode(z[i: i + 1]) for i in range(len(z))])) \
                    if per_item else decode
                alone, beside = (edit_clips(bundle, some, spec, 0, space, WindowConfig(level_seconds=0))[0][0]
                                 for some in (clips[:1], clips))
                differences.append(float(np.abs(alone - beside).max()))
        finally:
            del bundle.codec.decode  # the codec's own method again
        print(f"{method} edit at the bundle's defaults, alone against beside 7 others: {differences[0]:.3g} decoded in "
              f"one batch, {differences[1]:.3g} one at a time (peak {float(np.abs(beside).max()):.3g})")


if __name__ == "__main__":
    main()
