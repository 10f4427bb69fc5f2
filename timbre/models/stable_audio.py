"""Stable Audio Open (Evans et al. 2024) from a local diffusers folder (transformer/, vae/, text_encoder/, tokenizer/,
projection_model/), and its tiny twin written in the same layout."""
from dataclasses import dataclass
from pathlib import Path

import torch

from timbre.conditions import Cond
from timbre.denoisers import VPrediction
from timbre.models.dit import randomize_
from timbre.models.oobleck_codec import OobleckCodec
from timbre.models.pretrained_folder import load_pretrained, load_tokenizer
from timbre.models.stable_audio_net import StableAudioNet, stable_audio_denoiser
from timbre.models.t5_prompts import T5PromptConditioner

SUBFOLDERS = ("transformer", "vae", "text_encoder", "tokenizer", "projection_model")


@dataclass(frozen=True, eq=False)
class StableAudioParts:
    """What a bundle takes from a Stable Audio Open folder."""

    codec: OobleckCodec
    denoiser: VPrediction
    conditioner: T5PromptConditioner
    null_cond: Cond


def load_stable_audio(folder: Path) -> StableAudioParts:
    """Every component from `folder`'s subfolders, offline and from safetensors; ModelError naming what is missing."""
    from diffusers import AutoencoderOobleck, StableAudioDiTModel
    from diffusers.pipelines.stable_audio import StableAudioProjectionModel
    from transformers import T5EncoderModel

    folder = Path(folder)
    transformer = load_pretrained(StableAudioDiTModel, folder / "transformer", "Stable Audio DiT")
    vae = load_pretrained(AutoencoderOobleck, folder / "vae", "Oobleck autoencoder")
    projection = load_pretrained(StableAudioProjectionModel, folder / "projection_model", "projection model")
    text_encoder = load_pretrained(T5EncoderModel, folder / "text_encoder", "T5 text encoder")
    tokenizer = load_tokenizer(folder / "tokenizer", "T5 tokenizer")
    codec = OobleckCodec(vae)
    conditioner = T5PromptConditioner(tokenizer, text_encoder, projection)
    net = StableAudioNet(transformer, projection, codec.sample_rate, codec.hop_length)
    return StableAudioParts(codec, stable_audio_denoiser(net), conditioner, conditioner.null_condition())


TINY_WORDS = ("a", "an", "recording", "of", "solo", "notes", "played", "on", "the", "violin", "viola", "cello",
              "flute", "clarinet", "oboe", "trumpet", "piano", "guitar", "organ", "marimba")


def save_tiny_stable_audio(folder: Path, seed: int = 0, latent_channels: int = 8) -> None:
    """The tiny twin: Stable Audio Open's architecture at toy sizes with seeded random weights, saved in the
    diffusers layout, with a word-level tokenizer over prompt words; builds offline in well under a second."""
    from diffusers import AutoencoderOobleck, StableAudioDiTModel
    from diffusers.pipelines.stable_audio import StableAudioProjectionModel
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    folder = Path(folder)
    torch.manual_seed(seed)  # diffusers' StableAudioPositionalEmbedding draws its weights from the global generator
    text_dim, cond_dim = 12, 16
    parts = {
        "transformer": StableAudioDiTModel(sample_size=1024, in_channels=latent_channels, num_layers=2,
                                           attention_head_dim=8, num_attention_heads=2, num_key_value_attention_heads=1,
                                           out_channels=latent_channels, cross_attention_dim=cond_dim, time_proj_dim=8,
                                           global_states_input_dim=2 * cond_dim, cross_attention_input_dim=cond_dim),
        "vae": AutoencoderOobleck(encoder_hidden_size=2 * latent_channels, downsampling_ratios=[2, 4, 4, 8, 8],
                                  channel_multiples=[1, 1, 1, 1, 1], decoder_channels=4,
                                  decoder_input_channels=latent_channels, audio_channels=2, sampling_rate=44100),
        "projection_model": StableAudioProjectionModel(text_encoder_dim=text_dim, conditioning_dim=cond_dim,
                                                       min_value=0, max_value=512),
        "text_encoder": T5EncoderModel(T5Config(vocab_size=len(TINY_WORDS) + 3, d_model=text_dim, d_kv=4, d_ff=24,
                                                num_layers=1, num_heads=2)),
    }
    for offset, (name, model) in enumerate(parts.items()):
        randomize_(model, seed + offset).save_pretrained(str(folder / name))
    vocabulary = {w: i for i, w in enumerate(("<pad>", "</s>", "<unk>") + TINY_WORDS)}
    words = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=words, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                            model_max_length=8).save_pretrained(str(folder / "tokenizer"))
