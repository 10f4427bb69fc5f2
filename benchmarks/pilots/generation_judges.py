"""Pilot (issue 3): a harmonic-codec bundle's generations as the audio judge and the latent classifiers read them.
For each guidance scale, 4 generations per instrument (4 s, seed 0, as `timbre analyse generation --items 40`):
the audio classifier's accuracy on the decoded audio; the directly trained and the distilled latent classifiers'
accuracy on the latents; the spread of the timbre channels against encoded held-out melodies and their renditions;
and the audio judge again after the timbre channels are averaged over 3 and 5 frames.
Usage: python benchmarks/pilots/generation_judges.py --model DIR [--cfg 1,2,4 --steps 16]
"""
import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from timbre.analysis.edit_quality import held_out_items
from timbre.analysis.generation import generate_instrument
from timbre.edits import SamplerConfig
from timbre.models.bundle import load_bundle
from timbre.models.checkpoint import load_component


def smoothed(latents: torch.Tensor, first: int, width: int) -> torch.Tensor:
    """Channels from `first` on averaged over `width` frames (edges repeated)."""
    out = latents.clone()
    padded = F.pad(latents[:, first:], (width // 2, width // 2), mode="replicate")
    out[:, first:] = F.avg_pool1d(padded, width, 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--cfg", default="1,2,4")
    p.add_argument("--steps", type=int, default=16)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    direct = load_component(Path(args.model) / "latent_classifier_direct.safetensors").eval()
    s = bundle.codec.structure_channels
    items = held_out_items(0, 40, 4.0, len(bundle.instruments))
    with torch.no_grad():
        real = torch.cat([bundle.codec.encode(items.waves), bundle.codec.encode(items.renditions)])
        real_std = real[:, s:].std(dim=(0, 2))
        for cfg in (float(v) for v in args.cfg.split(",")):
            sampler = SamplerConfig(steps=args.steps, cfg=cfg)
            latents = torch.cat([generate_instrument(bundle, name, 4, 125, sampler, 0) for name in bundle.instruments])
            labels = torch.arange(len(bundle.instruments)).repeat_interleave(4)

            def heard(z: torch.Tensor) -> float:
                return float((bundle.audio_classifier(bundle.codec.decode(z)).argmax(-1) == labels).float().mean())

            gen_std = latents[:, s:].std(dim=(0, 2))
            print(json.dumps({
                "cfg": cfg, "steps": args.steps, "audio_judge": heard(latents),
                "latent_direct": float((direct(latents).argmax(-1) == labels).float().mean()),
                "latent_distilled": float((bundle.latent_classifier(latents).argmax(-1) == labels).float().mean()),
                "timbre_std_generated_first_6": gen_std[:6].tolist(), "timbre_std_real_first_6": real_std[:6].tolist(),
                "timbre_std_ratio_median": float((gen_std / real_std).median()),
                "audio_judge_smoothed_3": heard(smoothed(latents, s, 3)),
                "audio_judge_smoothed_5": heard(smoothed(latents, s, 5))}), flush=True)


if __name__ == "__main__":
    main()
