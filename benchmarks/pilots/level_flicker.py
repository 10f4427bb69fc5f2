"""Pilot (issue 3): why the generations' notes do not hold their level, and where in the latents that comes from.

Prints, for a bundle:
- held notes: the share of 20 ms frames within 6 dB of each clip's peak, and the median frame-to-frame level change
  over frames within 30 dB of it, for held-out stems, their codec round trips and the bundle's generations (cfg 1,
  4 and 7; the canonical prompt, 16 Heun steps, 4 s);
- the same figures for round trips with white noise of a given std added to one group of latent channels only;
- the denoiser's residual error per channel group on noised held-out latents at low noise levels;
- the decoder's sensitivity per channel group (timbre.training.decoder_weights).
Usage: python benchmarks/pilots/level_flicker.py --model default
"""
import argparse
import json

import torch

from note_course import frame_levels  # this script's folder is on the path when it runs
from timbre.analysis.edit_quality import held_out_items
from timbre.analysis.generation import generate_instrument
from timbre.corpus.prompts import canonical_prompt
from timbre.edits.base import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.training.decoder_weights import decoder_sensitivity

GROUPS = {"0-8": slice(0, 8), "8-32": slice(8, 32), "32-": slice(32, None)}


def held_notes(waves: torch.Tensor, rate: int) -> dict:
    """Near-peak share and median level change between 20 ms frames of (B, S) waves."""
    level = frame_levels(waves, rate)[1]
    peak = level.amax(1, keepdim=True)
    change = (level[:, 1:] - level[:, :-1]).abs()[level[:, 1:] > peak - 30]
    return {"near_peak": round(float((level > peak - 6).float().mean()), 3),
            "level_change_db": round(float(change.median()), 2)}


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=40, help="held-out stems (and generations: items / 10 per instrument)")
    p.add_argument("--noise", type=float, default=0.1, help="std of the noise added to one channel group")
    args = p.parse_args()
    torch.manual_seed(0)
    bundle = load_bundle(args.model)
    rate, names, codec = bundle.sample_rate, bundle.instruments, bundle.codec
    held = held_out_items(0, 5 * args.items, 4.0, len(names))
    pick = torch.arange(0, 5 * args.items, 5)
    waves, sources = held.waves[pick].float(), held.sources[pick]
    z = codec.encode(waves)
    frames = z.shape[-1]
    report = {"model": args.model, "real": held_notes(waves, rate), "round_trip": held_notes(codec.decode(z), rate)}
    per = max(1, args.items // len(names))
    for cfg in (1.0, 4.0, 7.0):
        latents = torch.cat([generate_instrument(bundle, n, per, frames, SamplerConfig(steps=16, cfg=cfg), seed=0)
                             for n in names])
        report[f"generated_cfg{cfg:g}"] = held_notes(codec.decode(latents), rate)
    for name, group in GROUPS.items():
        noisy = z.clone()
        noisy[:, group] += torch.randn_like(noisy[:, group]) * args.noise
        report[f"round_trip_noise{args.noise:g}_channels_{name}"] = held_notes(codec.decode(noisy), rate)
    cond = bundle.conditioner.embed_text([canonical_prompt(names[int(s)]) for s in sources])
    for sigma in (0.05, 0.1, 0.3):
        denoised = bundle.denoiser(z + torch.randn_like(z) * sigma, torch.full((z.shape[0],), sigma), cond)
        rms = (denoised - z).pow(2).mean((0, 2)).sqrt()
        report[f"denoiser_rms_error_sigma{sigma:g}"] = {n: round(float(rms[g].mean()), 4) for n, g in GROUPS.items()}
    sensitivity = decoder_sensitivity(codec, z[:8])
    report["decoder_sensitivity_over_median"] = {n: round(float((sensitivity[g] / sensitivity.median()).mean()), 1)
                                                 for n, g in GROUPS.items()}
    report["decoder_sensitivity_channel0_over_median"] = round(float(sensitivity[0] / sensitivity.median()), 0)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
