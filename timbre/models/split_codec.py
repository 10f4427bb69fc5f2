"""A spectral codec trained to split its channels: per-frame structure channels (notes, loudness, timing) and
timbre channels that hold one time-pooled instrument code, repeated over the frames.

The structure side is the plain codec's (a linear map from a whitened PCA start plus a conv correction); the decoder
adds to the structure's linear decoding a correction from dilated conv blocks modulated (FiLM) by the time-mean of
the timbre channels, so the code re-shapes each note's spectrum and envelope. Structure channels come first, timbre
channels last. Trained by swap losses over renditions of one melody (timbre.training.split_codec)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.cepstrum import cepstral_envelope
from timbre.models.codec import Correction, SpectralFrames
from timbre.models.layers import ResBlock, zeroed


@dataclass(frozen=True)
class SplitCodecConfig:
    """Sizes of the split codec; hop_length = stft_hop * stride samples per latent frame."""

    sample_rate: int = 16000
    n_fft: int = 1024
    stft_hop: int = 256
    stride: int = 2  # 31.25 latent frames/s at 16 kHz
    structure_channels: int = 96  # per-frame channels: what is played
    timbre_channels: int = 32  # one pooled code repeated over the frames: what plays it
    width: int = 256  # width of every conv stack
    encoder_depth: int = 3  # residual blocks in each encoder
    decoder_depth: int = 6  # FiLM residual blocks in the decoder (dilations 1, 2, 4, ... cover about 2 s)
    envelope_lifter: int = 12  # quefrencies 1..lifter of each frame's log spectrum (its smooth envelope) are kept
    # from the structure encoder, which reads only the level and the fine (harmonic) structure; 0 keeps everything
    harmonic_views: int = 0  # n > 0: the decoder also gates the structure's spectrum read at f/2 .. f/(n+1), so the
    # code can shape harmonics by their index (even harmonics, comb patterns); measured no gain (docs/models.md)
    griffin_lim_iters: int = 48
    structure_scale: float = 1.0  # multiplies the structure channels so latents have std ~ 0.5 (EDM's sigma_data)
    timbre_scale: float = 1.0  # the same for the timbre channels

    @property
    def channels(self) -> int:
        return self.structure_channels + self.timbre_channels


class FiLMBlock(ResBlock):
    """The dilated residual block, its branch reading a frame-wise normalised input that a per-item code scales and
    shifts; the modulation starts at zero."""

    def __init__(self, width: int, code: int, dilation: int):
        film = zeroed(nn.Linear(code, 2 * width))  # made before the convs: the seeded initial weights stay as they were
        super().__init__(width, dilation)
        self.film = film

    def forward(self, x: Tensor, code: Tensor) -> Tensor:
        scale, shift = self.film(code).unsqueeze(-1).chunk(2, dim=1)
        h = F.layer_norm(x.transpose(1, 2), (x.shape[1],)).transpose(1, 2) * (1 + scale) + shift
        return x + self.branch(h)


class SplitCodec(SpectralFrames):
    """Codec protocol: encode (B, S) -> (B, C, ceil(S / hop_length)); decode (B, C, T) -> (B, T * hop_length).
    Channels [0, structure_channels) are structure; the rest are timbre, constant over time when encoded."""

    kind = "split_codec"

    def __init__(self, config: SplitCodecConfig = SplitCodecConfig()):
        super().__init__(config)
        c, stacked = config, self.bins * config.stride
        self.enc_linear = nn.Conv1d(stacked, c.structure_channels, 1)
        self.enc_correction = Correction(stacked, c.width, c.structure_channels, c.encoder_depth)
        self.timbre_encoder = Correction(stacked, c.width, c.timbre_channels + 1, c.encoder_depth, zero_out=False)
        self.dec_linear = nn.Conv1d(c.structure_channels, stacked, 1)
        self.decoder_in = nn.Conv1d(c.structure_channels, c.width, 3, padding=1)
        self.decoder_blocks = nn.ModuleList(FiLMBlock(c.width, c.timbre_channels, 2 ** (i % 5))
                                            for i in range(c.decoder_depth))
        self.decoder_out = zeroed(nn.Conv1d(c.width, stacked, 1))
        self.harmonic_gates = zeroed(nn.Conv1d(c.width, c.harmonic_views * stacked, 1)) if c.harmonic_views else None

    def fine_structure(self, logmag: Tensor) -> Tensor:
        """(B, bins, N) log-magnitudes without their smooth spectral envelope (cepstral quefrencies 1..lifter), the
        level (quefrency 0) kept: what the structure encoder reads."""
        lifter = self.config.envelope_lifter
        if lifter == 0:
            return logmag
        return logmag - cepstral_envelope(logmag, lifter, dim=1, level=False)

    def encode_structure(self, logmag: Tensor) -> Tensor:
        """Unscaled structure (B, S, T), read from the level and fine structure of log-magnitudes (B, bins, N)."""
        fine = self.stack(self.fine_structure(logmag))
        return self.enc_linear(fine) + self.enc_correction(fine)

    def encode_code(self, logmag: Tensor) -> Tensor:
        """Unscaled timbre code (B, K) of log-magnitudes (B, bins, N): the whole spectrum, attention-pooled over frames."""
        features = self.timbre_encoder(self.stack(logmag))
        weights = features[:, -1:].softmax(dim=-1)
        return (features[:, :-1] * weights).sum(-1)

    def harmonic_views(self, logmag: Tensor) -> Tensor:
        """(B, bins, N) log-magnitudes -> (B, n, bins, N): view r - 2 holds each frame's spectrum at f / r, less the
        frame's mean, so at bin f it peaks where f is a multiple-of-r harmonic (linear interpolation between bins)."""
        centred = logmag - logmag.mean(1, keepdim=True)
        views = []
        for ratio in range(2, self.config.harmonic_views + 2):
            position = torch.arange(self.bins, device=logmag.device, dtype=logmag.dtype) / ratio
            low = position.floor().long()
            frac = (position - low).view(1, -1, 1)
            views.append(centred[:, low] * (1 - frac) + centred[:, (low + 1).clamp(max=self.bins - 1)] * frac)
        return torch.stack(views, dim=1)

    def decode_parts(self, structure: Tensor, code: Tensor) -> Tensor:
        """Unscaled structure (B, S, T) and code (B, K) -> log-magnitude frames (B, bins, stride * T)."""
        h = self.decoder_in(structure)
        for block in self.decoder_blocks:
            h = block(h, code)
        h = F.gelu(h)
        base = self.dec_linear(structure)
        logmag = self.unstack(base + self.decoder_out(h))
        if self.harmonic_gates is None:
            return logmag
        b, _, t = h.shape
        views = self.config.harmonic_views
        gates = self.interleave(self.harmonic_gates(h).reshape(b * views, -1, t))
        return logmag + (gates.reshape(b, views, self.bins, -1) * self.harmonic_views(self.unstack(base))).sum(1)

    def encode_log_magnitude(self, logmag: Tensor) -> Tensor:
        structure, code = self.encode_structure(logmag), self.encode_code(logmag)
        c = self.config
        timbre = code.unsqueeze(-1).expand(-1, -1, structure.shape[-1])
        return torch.cat([structure * c.structure_scale, timbre * c.timbre_scale], dim=1)

    def decode_log_magnitude(self, latents: Tensor) -> Tensor:
        c = self.config
        z = latents.to(self.dec_linear.weight.dtype)
        structure = z[:, : c.structure_channels] / c.structure_scale
        code = z[:, c.structure_channels:].mean(-1) / c.timbre_scale
        return self.decode_parts(structure, code)

    def swap_timbre(self, latents: Tensor, donor: Tensor) -> Tensor:
        """Latents (B, C, T) keeping their structure channels and taking the timbre channels of donor latents
        (B, C, T') (their time-mean, which is all the decoder reads)."""
        s = self.config.structure_channels
        timbre = donor[:, s:].mean(-1, keepdim=True).expand(-1, -1, latents.shape[-1])
        return torch.cat([latents[:, :s], timbre], dim=1)
