"""`timbre edit IN --method M --to TARGET -o OUT`: timbre transfer of one audio file."""
import argparse
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from timbre.audio import FORMATS, decode_audio, encode_audio
from timbre.batch_edit import WindowConfig
from timbre.edits import METHODS, EditSpec, SamplerConfig, param_names
from timbre.edits.defaults import SAMPLER_SETTINGS, SPACES, edit_from_settings, with_edit_defaults
from timbre.edits.diff_tone import ESTIMATES
from timbre.errors import AudioError, ConfigError
from timbre.randomness import content_item_id
from cluster.model_store import load_model
from timbre.transfer import audio_condition, text_condition, transfer_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3")
DEFAULTS = SamplerConfig()
METHOD_FLAGS = {"k": "--k", "clamp": "--clamp", "structure_cfg": "--structure-cfg", "noise_fraction": "--noise-fraction",
                "fallback": "--fallback", "estimate": "--estimate"}


def add_parser(sub) -> None:
    p = sub.add_parser("edit", help="timbre-transfer one audio file", description=__doc__.split(":")[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="source recording (WAV, FLAC, OGG)")
    p.add_argument("--method", required=True, choices=list(METHODS),
                   help="edit method: " + "; ".join(f"{m.name}: {m.summary}" for m in METHODS.values()))
    p.add_argument("--to", required=True, metavar="TARGET",
                   help="target: a text prompt (e.g. 'violin'), or the path of a reference recording")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (.wav or .flac)")
    p.add_argument("--source", metavar="TEXT", default=None,
                   help="source prompt (e.g. 'piano'); default: the embedding of IN itself, as CLAP gives it")
    add_method_flags(p)
    add_sampler_flags(p)
    add_level_flags(p)
    p.add_argument("--seed", type=int, default=0,
                   help="seed; each file's noise derives from (seed, file content) (default 0)")
    p.add_argument("--model", default="default",
                   help="model bundle: a built-in name (default, debug), a bundle folder or an s3:// prefix "
                        "(default: default)")
    p.set_defaults(run=run)


def add_method_flags(p) -> None:
    """The method parameters and --space: left out, the bundle's setting for the method (its "edit_defaults") is
    used, else the engine's default."""
    p.add_argument("--k", type=float, default=None,
                   help="mi-inpaint: fraction of channels renoised as timbre [0-1] (default: the bundle's, else 0.5); "
                        "diff-tone, diff-random, diff-midpoint: fraction regenerated, the others held to the source's "
                        "so that the melody stays (default: the bundle's, else 1: every channel, as the paper)")
    p.add_argument("--clamp", type=float, default=None,
                   help="mi-inpaint: fraction of steps with the structure pinned [0-1] "
                        "(default: the bundle's, else 0.5)")
    p.add_argument("--structure-cfg", type=float, default=None,
                   help="mi-inpaint: guidance scale on the structure part once it runs free (default: --cfg)")
    p.add_argument("--noise-fraction", type=float, default=None,
                   help="pni, ddim-pni: noise level as a share of sigma_max [0-1] (default: the bundle's, else 0.5)")
    p.add_argument("--fallback", type=float, default=None,
                   help="diff-tone: swap at this share of the steps when the classifier never changes its mind "
                        "(default: the bundle's, else 0.5)")
    p.add_argument("--estimate", choices=ESTIMATES, default=None,
                   help="diff-tone: what its classifier reads each step: the guided x0_hat (the paper's) or the "
                        "unconditional one from the same state (default: the bundle's, else guided)")
    p.add_argument("--space", choices=SPACES, default=None,
                   help="mi-inpaint: split timbre from structure in the bundle's learned timbre basis or in raw "
                        "latent channels (default: the bundle's, else the basis when it has one)")


def add_sampler_flags(p) -> None:
    """The sampler settings `timbre edit` and `timbre transfer` share; left out, the bundle's or the engine's."""
    p.add_argument("--steps", type=int, default=None,
                   help=f"sampling steps on the EDM grid (default: the bundle's, else {DEFAULTS.steps})")
    p.add_argument("--cfg", type=float, default=None,
                   help=f"classifier-free guidance scale while generating (default: the bundle's, else {DEFAULTS.cfg})")
    p.add_argument("--solver", choices=("heun", "euler"), default=None,
                   help=f"ODE solver (default: the bundle's, else {DEFAULTS.solver})")
    p.add_argument("--sigma-max", type=float, default=None,
                   help="top of the noise grid (default: the bundle's, else 80, EDM's; Stable Audio Open's scheduler "
                        "uses 500)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default=None,
                   help="the denoiser's arithmetic: fp32, or bf16 autocast (5-6x for Stable Audio Open's DiT on an H100, "
                        "little for the small default; docs/benchmarks.md) (default: the bundle's, else fp32)")


def add_level_flags(p) -> None:
    """The --level-window and --hold-level flags `timbre edit` and `timbre transfer` share."""
    p.add_argument("--level-window", type=float, default=WindowConfig.level_seconds, metavar="SECONDS",
                   help="the edit's level course made the source's over windows this long, so the stem keeps its "
                        "place in the mix (0: the model's own level, which guidance can move by tens of dB; default "
                        "%(default)s)")
    p.add_argument("--hold-level", action="store_true", default=None,
                   help="guidance leaves each frame's level where the conditional model puts it, so a high --cfg "
                        "does not extrapolate the loudness (a codec that holds the level apart: the harmonic one)")


def build_spec(args, defaults: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[EditSpec, str | None]:
    """(spec, channel space) from the flags, with the bundle's edit defaults where a flag is left out."""
    given = {name: getattr(args, name) for name in METHOD_FLAGS if getattr(args, name) is not None}
    accepted = param_names(args.method)
    stray = [METHOD_FLAGS[name] for name in given if name not in accepted]
    if stray:
        raise ConfigError(f"{', '.join(stray)} does not apply to --method {args.method}")
    if args.space is not None and args.method != "mi-inpaint":
        raise ConfigError(f"--space does not apply to --method {args.method}")
    given |= {name: value for name in (*SAMPLER_SETTINGS, "space") if (value := getattr(args, name, None)) is not None}
    return edit_from_settings(args.method, with_edit_defaults(args.method, given, defaults or {}))


def read_audio(path: str):
    """Decode a local file; AudioError naming it when it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise AudioError(path, f"cannot read ({e.strerror or e})") from None
    return decode_audio(data, path), data


def target_condition(bundle, target: str):
    """A reference recording when TARGET names a file, else a text prompt."""
    if Path(target).is_file():
        return audio_condition(bundle, read_audio(target)[0], target), f"recording {target}"
    if target.lower().endswith(AUDIO_SUFFIXES):
        raise AudioError(target, "reference recording not found")
    return text_condition(bundle, target), f"prompt {target!r}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write whole or not at all: a temporary file beside the target, then a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args) -> int:
    build_spec(args)  # a flag that does not apply is refused before the bundle loads
    out = Path(args.output)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"output must end in {' or '.join(FORMATS)}, got {out.name}")
    if not out.parent.is_dir():
        raise ConfigError(f"output folder does not exist: {out.parent}")
    audio, data = read_audio(args.input)
    bundle = load_model(args.model)
    spec, space = build_spec(args, bundle.edit_defaults)
    target, target_desc = target_condition(bundle, args.to)
    source = text_condition(bundle, args.source) if args.source else None
    item_id = content_item_id(hashlib.sha256(data).hexdigest())
    result = transfer_audio(bundle, audio, spec, target, source, args.seed, item_id, space,
                            WindowConfig(level_seconds=args.level_window))
    write_atomically(out, encode_audio(result.audio, FORMATS[out.suffix.lower()]))
    print(f"wrote {out}: {spec.method} to {target_desc}, {audio.channels} ch, {audio.sample_rate} Hz, "
          f"{audio.duration:.2f} s, model {bundle.name}{describe(result.info)}")
    if result.info["clipped_samples"]:
        print(f"warning: {result.info['clipped_samples']} samples exceed full scale and were clipped by the "
              f"{audio.subtype} format (nothing was normalised; the level course follows the source's)")
    return 0


def describe(info: dict) -> str:
    """The method-specific facts of an edit, for the summary line."""
    parts = []
    if "timbre_channels" in info:
        parts.append(f"{info['timbre_channels'][0]} timbre {'basis directions' if info.get('space', [''])[0] == 'basis' else 'channels'}, {info['clamp_steps'][0]} clamped steps")
    if "start_step" in info:
        parts.append(f"starts at step {info['start_step'][0]}")
    if "level_gain_db_median" in info:
        parts.append(f"level course matched to the source's (gain {info['level_gain_db_median']:+.1f} dB median, "
                     f"{info['level_gain_db_min']:+.1f} to {info['level_gain_db_max']:+.1f})")
    if "swap_step" in info:
        found = info.get("swap_found")
        parts.append("swap step " + ", ".join(
            f"{s}{'' if found is None or found[i] else ' (fallback: classifier never changed)'}"
            for i, s in enumerate(info["swap_step"])))
    return "; " + "; ".join(parts) if parts else ""
