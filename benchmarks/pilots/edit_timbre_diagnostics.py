"""Pilot (issue 3): is what the DiT puts in the timbre channels of an MI-inpaint edit too rough, too large, or off
the frames real instruments make? On a harmonic-codec bundle, MI-inpaint renoises every timbre channel (the
structure clamped, raw channels) toward each held-out melody's target; the edit's timbre channels are then smoothed
in time, shrunk, or replaced frame by frame by their nearest neighbour among a real melody's frames on the target
instrument (another melody, or the rendition of the same notes), decoded and judged by the bundle's audio classifier.
Usage: python benchmarks/pilots/edit_timbre_diagnostics.py --model DIR [--items 40 --cfg 4 --steps 16]
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch import Tensor

from timbre.analysis.edit_quality import held_out_items
from timbre.edits import SamplerConfig
from timbre.models.bundle import load_bundle

from split_edit import split_edit_latents  # beside this script


def smoothed(timbre: Tensor, frames: int) -> Tensor:
    """A moving average over `frames` latent frames (edges repeated)."""
    return F.avg_pool1d(F.pad(timbre, (frames // 2, frames // 2), mode="replicate"), frames, 1)


def nearest_frames(timbre: Tensor, pool: Tensor) -> Tensor:
    """Each item's frames (B, C, T) replaced by the nearest (Euclidean) of its pool item's frames."""
    out = torch.empty_like(timbre)
    for i in range(timbre.shape[0]):
        out[i] = pool[i].T[torch.cdist(timbre[i].T, pool[i].T).argmin(1)].T
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--items", type=int, default=40)
    p.add_argument("--cfg", type=float, default=4.0)
    p.add_argument("--steps", type=int, default=16)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    codec = bundle.codec
    s = codec.structure_channels
    items = held_out_items(0, args.items, 4.0, len(bundle.instruments))
    with torch.no_grad():
        edit = split_edit_latents(bundle, items, SamplerConfig(steps=args.steps, cfg=args.cfg))
        source, rendition, donor = (codec.encode(w) for w in (items.waves, items.renditions, items.donors))
        structure, timbre, real = edit[:, :s], edit[:, s:], rendition[:, s:]

        def heard(timbre_part: Tensor) -> float:
            waves = codec.decode(torch.cat([structure, timbre_part], 1))[:, : items.waves.shape[1]]
            return float((bundle.audio_classifier(waves).argmax(-1) == items.targets).float().mean())

        channel_ratio = timbre.std((0, 2)) / real.std((0, 2))
        rows = {"edit": heard(timbre), "oracle (the rendition's timbre)": heard(real),
                **{f"smoothed over {n} frames": heard(smoothed(timbre, n)) for n in (3, 5, 9)},
                **{f"shrunk x{f}": heard(f * timbre) for f in (0.8, 0.65)},
                "shrunk to the renditions' channel std": heard(timbre / channel_ratio[None, :, None]),
                "nearest frame of another melody on the target": heard(nearest_frames(timbre, donor[:, s:])),
                "nearest frame of the rendition": heard(nearest_frames(timbre, real)),
                "each item's mean timbre": heard(timbre.mean(-1, keepdim=True).expand_as(timbre)),
                "std edit / rendition": round(float(timbre.std() / real.std()), 3),
                "channel std ratio, median": round(float(channel_ratio.median()), 3),
                "mean |frame-to-frame step| edit / rendition":
                    round(float(timbre.diff(dim=-1).abs().mean() / real.diff(dim=-1).abs().mean()), 3),
                "source timbre heard as the target": heard(source[:, s:])}
    print(json.dumps({"cfg": args.cfg, "items": args.items, **rows}, indent=1))


if __name__ == "__main__":
    main()
