"""Pilot (issue 3): what caps the generation check before the denoiser does?

On held-out monophonic stems cut to the generation length:
- the audio judge's accuracy on the stems, on their codec round trips and on their renditions (the same melody
  played by another instrument): the ceiling a perfect denoiser would reach;
- the condition space the DiT is trained on: the mean cosine between each instrument's audio embeddings and every
  instrument's canonical-prompt text embedding, and between the audio embeddings of two instruments, beside the text
  embeddings' own cosines: whether two instruments' conditions overlap.
Usage: python benchmarks/pilots/judge_ceiling.py --model default [--items 160 --seconds 4]
"""
import argparse
import json

import torch

from timbre.analysis.edit_quality import held_out_items
from timbre.corpus.prompts import canonical_prompt
from timbre.models.bundle import load_bundle


def judged(judge, waves: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """The judge's instrument for each wave."""
    return torch.cat([judge(chunk).argmax(-1) for chunk in waves.split(batch)])


def class_means(similarity: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor | None, classes: int) -> list:
    """(classes, classes) mean of similarity over row items of class i and column items (or columns) of class j."""
    out = []
    for i in range(classes):
        block = similarity[rows == i]
        out.append([round(float((block[:, cols == j] if cols is not None else block[:, j:j + 1]).mean()), 2)
                    for j in range(classes)])
    return out


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--items", type=int, default=160)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    bundle = load_bundle(args.model)
    names, classes = bundle.instruments, len(bundle.instruments)
    items = held_out_items(0, args.items, args.seconds, classes)
    waves = items.waves.float()
    decoded = torch.cat([bundle.codec.decode(bundle.codec.encode(chunk)) for chunk in waves.split(32)])
    accuracy = {"stems": judged(bundle.audio_classifier, waves).eq(items.sources).float().mean().item(),
                "codec_round_trip": judged(bundle.audio_classifier, decoded).eq(items.sources).float().mean().item(),
                "renditions": judged(bundle.audio_classifier, items.renditions.float()).eq(items.targets)
                .float().mean().item()}
    text = bundle.conditioner.embed_text([canonical_prompt(n) for n in names])
    audio = torch.cat([bundle.conditioner.embed_audio(chunk) for chunk in waves.split(32)])
    print(json.dumps({"items": args.items, "seconds": args.seconds, "judge_accuracy": accuracy,
                      "audio_to_text_retrieval": (audio @ text.T).argmax(-1).eq(items.sources).float().mean().item(),
                      "instruments": names,
                      "text_text": [[round(v, 2) for v in row] for row in (text @ text.T).tolist()],
                      "audio_text": class_means(audio @ text.T, items.sources, None, classes),
                      "audio_audio": class_means(audio @ audio.T, items.sources, items.sources, classes)}))


if __name__ == "__main__":
    main()
