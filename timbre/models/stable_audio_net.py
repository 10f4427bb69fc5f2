"""Stable Audio Open's DiT (diffusers' StableAudioDiTModel) as a raw network F(x_in, c_noise, cond) on a trimmed
canvas: the timing condition is read off the canvas length, so a 10 s clip is denoised on 10 s of latents."""
import torch
from torch import Tensor, nn

from timbre.conditions import Cond
from timbre.denoisers import VPrediction


class StableAudioNet(nn.Module):
    """F(x_in, c_noise, cond): x_in (B, 64, T) any length T <= the trained canvas; c_noise = 2 atan(sigma) / pi,
    as diffusers' CosineDPMSolverMultistepScheduler feeds it; cond from T5PromptConditioner."""

    def __init__(self, transformer: nn.Module, projection: nn.Module, sample_rate: int, hop_length: int):
        super().__init__()
        self.transformer, self.projection = transformer.eval(), projection.eval()
        self.seconds_per_frame = hop_length / sample_rate
        self._rotary: dict[tuple[int, torch.device], tuple[Tensor, Tensor]] = {}  # per (frames, device): every step
        # of a sampler reuses its window length's table instead of rebuilding it and copying it to the device

    def rotary(self, frames: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """The (cos, sin) rotary table for the global token plus `frames` latents, as the pipeline builds it."""
        from diffusers.models.embeddings import get_1d_rotary_pos_embed

        key = (frames, device)
        if key not in self._rotary:
            table = get_1d_rotary_pos_embed(self.transformer.config.attention_head_dim // 2, frames + 1, use_real=True,
                                            repeat_interleave_real=False)
            self._rotary[key] = tuple(r.to(device) for r in table)
        return self._rotary[key]

    def forward(self, x: Tensor, c_noise: Tensor, cond: Cond) -> Tensor:
        b, _, frames = x.shape
        start = self.projection.start_number_conditioner(torch.zeros(b, device=x.device))
        end = self.projection.end_number_conditioner(torch.full((b,), frames * self.seconds_per_frame, device=x.device))
        prompted = cond["prompted"].reshape(b, 1, 1).to(start.dtype)
        # as the pipeline's guidance does: the unconditional input zeroes every cross-attention token, timing included
        tokens = torch.cat([cond["text"].to(start.dtype), start * prompted, end * prompted], dim=1)
        dtype = self.transformer.dtype
        return self.transformer(x.to(dtype), c_noise.expand(b).to(dtype), encoder_hidden_states=tokens.to(dtype),
                                global_hidden_states=torch.cat([start, end], dim=2).to(dtype),
                                rotary_embedding=self.rotary(frames, x.device), return_dict=False)[0]


def stable_audio_denoiser(net: StableAudioNet) -> VPrediction:
    """D(x, sigma, cond) for Stable Audio Open: its v-objective with sigma_data 1 (Evans et al. 2024)."""
    return VPrediction(net, sigma_data=1.0)
