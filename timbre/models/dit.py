"""A diffusion transformer over latent sequences, adaLN-conditioned on noise level and a condition vector."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.conditions import Cond
from timbre.known_channels import KnownChannelsInput
from timbre.models.layers import ItemLinear, zeroed


@dataclass(frozen=True)
class DiTConfig:
    """Sizes of a DiT (Peebles & Xie 2023) over (C, T) latents."""

    channels: int = 32  # latent channels C
    cond_dim: int = 512  # condition embedding size (the CLAP interface)
    width: int = 384  # transformer width
    depth: int = 8  # number of blocks
    heads: int = 6  # attention heads; width / heads must be even (rotary positions)
    mlp_ratio: float = 4.0  # MLP hidden width = width * mlp_ratio
    noise_features: int = 64  # Fourier features of c_noise
    known_input: bool = False  # also read clean known channels and their mask (an inpainting DiT; timbre.known_channels)
    patch: int = 1  # latent frames per token, read and written together by one linear layer each (DiT's patches);
    # a sequence that is not a whole number of patches is padded by repeating its last frame, and the pad dropped

    def __post_init__(self):
        if self.width % self.heads or (self.width // self.heads) % 2:
            raise ValueError(f"width {self.width} must split into {self.heads} heads of even size")
        if self.patch < 1:
            raise ValueError(f"patch must be a whole number of latent frames >= 1, got {self.patch}")


DIT_SIZES = {
    "tiny": DiTConfig(channels=16, cond_dim=64, width=32, depth=2, heads=2, noise_features=16),  # CPU tests
    "small": DiTConfig(width=256, depth=6, heads=4),  # CPU training
    "base": DiTConfig(width=768, depth=12, heads=12),  # GPU
}


def rotary(x: Tensor) -> Tensor:
    """Rotary position embedding over the sequence axis (Su et al. 2021); x: (B, H, T, D)."""
    t, d = x.shape[-2], x.shape[-1]
    freqs = 10000 ** (-torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d)
    angles = torch.arange(t, device=x.device, dtype=torch.float32)[:, None] * freqs
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


def patches(seq: Tensor, patch: int) -> Tensor:
    """(B, C, T) -> (B, ceil(T / patch), patch * C) tokens, each holding `patch` consecutive frames (Peebles & Xie
    2023's patchify in one dimension); the last frame is repeated to fill the last patch."""
    pad = -seq.shape[-1] % patch
    if pad:
        seq = torch.cat([seq, seq[..., -1:].expand(*seq.shape[:-1], pad)], dim=-1)
    return seq.unflatten(-1, (-1, patch)).permute(0, 2, 3, 1).flatten(2)


def unpatch(tokens: Tensor, patch: int, frames: int) -> Tensor:
    """(B, N, patch * C) tokens -> (B, C, frames): the inverse of `patches`, the padded frames dropped."""
    b, n, _ = tokens.shape
    return tokens.reshape(b, n * patch, -1).transpose(1, 2)[..., :frames]


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class Block(nn.Module):
    """Pre-norm attention + MLP, each modulated and gated by adaLN-Zero."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width)
        self.proj = nn.Linear(cfg.width, cfg.width)
        self.norm2 = nn.LayerNorm(cfg.width, elementwise_affine=False, eps=1e-6)
        hidden = int(cfg.width * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(cfg.width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, cfg.width))
        self.ada = zeroed(ItemLinear(cfg.width, 6 * cfg.width))

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(emb).chunk(6, dim=-1)
        b, t, w = x.shape
        q, k, v = self.qkv(modulate(self.norm1(x), shift1, scale1)).reshape(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(rotary(q), rotary(k), v).transpose(1, 2).reshape(b, t, w)
        x = x + gate1.unsqueeze(1) * self.proj(attn)
        return x + gate2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift2, scale2))


class DiT(nn.Module):
    """Raw network F(x_in (B, C, T), c_noise (B,), cond (B, cond_dim)) -> (B, C, T); wrap it in EDMPrecond."""

    kind = "dit"

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        self.config = cfg
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(1000), cfg.noise_features // 2)))
        self.noise_mlp = nn.Sequential(ItemLinear(cfg.noise_features, cfg.width), nn.SiLU(), ItemLinear(cfg.width, cfg.width))
        self.cond_proj = ItemLinear(cfg.cond_dim, cfg.width)
        self.inp = nn.Linear(cfg.channels * (3 if cfg.known_input else 1) * cfg.patch, cfg.width)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm_out = nn.LayerNorm(cfg.width, elementwise_affine=False, eps=1e-6)
        self.ada_out = zeroed(ItemLinear(cfg.width, 2 * cfg.width))
        self.out = zeroed(nn.Linear(cfg.width, cfg.channels * cfg.patch))

    @property
    def reads_known_channels(self) -> bool:
        return self.config.known_input

    def network_input(self, x: Tensor, cond: Cond) -> tuple[Tensor, Tensor]:
        """(the condition embedding, the input sequence): x alone, or x beside the known channels and their mask."""
        plain = isinstance(cond, Tensor)
        if not self.config.known_input:
            if not plain:
                raise ValueError("this DiT was not trained with known channels (DiTConfig.known_input is False)")
            return cond, x
        known = KnownChannelsInput.none(x) if plain else KnownChannelsInput(cond["known"], cond["mask"])
        return (cond if plain else cond["embedding"]), torch.cat([x, *known.planes(x.shape[-1])], dim=1)

    def forward(self, x: Tensor, c_noise: Tensor, cond: Cond) -> Tensor:
        dtype = self.inp.weight.dtype
        embedding, seq = self.network_input(x, cond)
        angles = c_noise.to(torch.float32)[:, None] * self.freqs[None]
        emb = self.noise_mlp(torch.cat([angles.cos(), angles.sin()], -1).to(dtype)) + self.cond_proj(embedding.to(dtype))
        emb = F.silu(emb)
        h = self.inp(patches(seq.to(dtype), self.config.patch))
        for block in self.blocks:
            h = block(h, emb)
        shift, scale = self.ada_out(emb).chunk(2, dim=-1)
        return unpatch(self.out(modulate(self.norm_out(h), shift, scale)), self.config.patch, x.shape[-1])


def randomize_(module: nn.Module, seed: int) -> nn.Module:
    """Fill every parameter with seeded noise (matrices ~ N(0, 1/fan_in)), so a tiny twin is untrained but not zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            scale = 1 / math.sqrt(p.shape[-1]) if p.ndim > 1 else 0.1
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return module
