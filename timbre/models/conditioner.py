"""A small CLAP-like conditioner: text and audio -> unit vectors in one space, trained contrastively on the corpus."""
import hashlib
import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.models.audio_encoder import AudioEncoder


@dataclass(frozen=True)
class ContrastiveConditionerConfig:
    """Sizes of the contrastive conditioner."""

    dim: int = 512  # shared embedding size (LAION-CLAP's)
    sample_rate: int = 16000  # audio rate it embeds
    buckets: int = 4096  # hashed word vocabulary: any prompt embeds, unseen words land in some bucket
    word_dim: int = 128  # word vector size
    n_mels: int = 64  # audio tower: mel bands
    width: int = 128  # audio tower: conv width
    depth: int = 3  # audio tower: residual blocks


def words(text: str) -> list[str]:
    """Lower-case word tokens of a prompt."""
    return re.findall(r"[a-z0-9]+", text.lower())


def word_bucket(word: str, buckets: int) -> int:
    """A stable hash bucket of a word (independent of Python's per-process hash seed)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little") % buckets


class ContrastiveConditioner(nn.Module):
    """Conditioner protocol: embed_text(list[str]) and embed_audio((B, S) waves) -> (B, dim) unit vectors."""

    kind = "contrastive_conditioner"

    def __init__(self, config: ContrastiveConditionerConfig = ContrastiveConditionerConfig()):
        super().__init__()
        c = self.config = config
        self.dim, self.sample_rate = c.dim, c.sample_rate
        self.word_vectors = nn.EmbeddingBag(c.buckets, c.word_dim, mode="mean")
        self.text_mlp = nn.Sequential(nn.Linear(c.word_dim, c.word_dim * 2), nn.GELU(), nn.Linear(c.word_dim * 2, c.dim))
        self.audio = AudioEncoder(c.sample_rate, c.n_mels, c.width, c.depth)
        self.audio_out = nn.Sequential(nn.GELU(), nn.Linear(self.audio.features, c.dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))  # CLIP's learnable temperature

    def embed_text(self, texts: list[str]) -> Tensor:
        ids = [[word_bucket(w, self.config.buckets) for w in words(t)] or [0] for t in texts]
        offsets = torch.tensor([0] + [len(i) for i in ids[:-1]], device=self.logit_scale.device).cumsum(0)
        flat = torch.tensor([w for i in ids for w in i], device=self.logit_scale.device)
        return F.normalize(self.text_mlp(self.word_vectors(flat, offsets)), dim=-1)

    def embed_audio(self, wave: Tensor) -> Tensor:
        return F.normalize(self.audio_out(self.audio(wave)), dim=-1)
