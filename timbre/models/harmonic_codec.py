"""A harmonic codec: a DDSP-style split (Engel et al. 2020) rendered in the STFT domain and decoded by Griffin-Lim.

Structure channels hold each frame's pitch, onset strength and periodicity (what is played, and when); timbre
channels are a learned mixture (whitened PCA) of each frame's level, its harmonic amplitudes by harmonic number
relative to that level, and the cepstrum of its noise floor (what plays it), optionally less their mean at the
frame's pitch (register_knots), so that the timbre channels hold how an instrument departs from the average at that
register, not which harmonics a pitch leaves below Nyquist. The decoder places harmonic k at k * f0 read from the
structure (with stretch_max, at k f0 sqrt(1 + B k^2), the stiff-string partials of Fletcher 1964, B a stiffness read
per frame as one more timbre feature), so the timbre channels hold no pitch by construction: swapping or
regenerating them keeps the notes. Structure channels come first. Pitch comes from the codec's own tracker
(timbre.pitch_tracking), refined from the lowest partials' peaks when the codec reads a stiffness."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timbre.cepstrum import cepstral_coefficients, envelope_from_coefficients
from timbre.models.codec import LOG_FLOOR, SpectralFrames
from timbre.models.pitch_register import register_weights
from timbre.pitch_tracking import track_pitch

REFERENCE_HZ = 261.63  # middle C: pitch is stored as octaves above it
STRUCTURE_FEATURES = ("pitch", "onset", "periodicity")  # per STFT frame, in this order
ABSENT_HARMONIC = -9.0  # relative log amplitude stored for harmonics above the ceiling (about -78 dB), never rendered
STRETCH_READ_DEPTH = 7.0  # nats below a frame's loudest bin (about 61 dB) under which the stiffness search reads a
# flat floor, so that bins of noise do not pick the stiffness
F0_PARTIALS = 4  # lowest partials whose peaks refine the f0 of a codec that reads a stiffness
F0_AGREEMENT_CENTS = 20.0  # a partial's f0 estimate counts only this close to the fundamental's own
LEVEL_HOLD_ROUNDS = 3  # corrections hold_level makes: each leaves the rendered level about 10x closer (measured)


@dataclass(frozen=True)
class HarmonicCodecConfig:
    """Sizes of the harmonic codec; hop_length = stft_hop * stride samples per latent frame."""

    sample_rate: int = 16000
    n_fft: int = 1024
    stft_hop: int = 256
    stride: int = 2  # STFT frames per latent frame: 31.25 latent frames/s at 16 kHz
    harmonics: int = 64  # harmonic amplitudes per frame (64 reach Nyquist at 125 Hz)
    floor_lifter: int = 20  # cepstral coefficients 0..lifter of the noise floor
    floor_window: int = 9  # bins of the running minimum under the harmonics that the noise floor smooths
    timbre_channels: int = 58  # learned channels over stride * (1 + harmonics + floor_lifter + 1) timbre features
    low_hz: float = 110.0  # pitch tracker range (the corpus plays MIDI 48-84: 131-1047 Hz)
    high_hz: float = 1250.0
    griffin_lim_iters: int = 48
    latent_std: float = 0.5  # every channel is scaled to this std on the training frames (EDM's sigma_data)
    register_knots: int = 0  # > 1: the timbre features' mean at each pitch, piecewise linear over this many knots
    # spaced evenly in log pitch from low_hz to high_hz, is taken out before the timbre channels and put back after
    harmonic_ceiling_hz: float = 0.0  # > 0: harmonics above it are neither read nor rendered (the noise floor covers
    # that band), so no harmonic number is left to hold a reading of the band's noise; 0: up to 2 bins below Nyquist
    stretch_max: float = 0.0  # > 0: each frame's stiffness B in [0, stretch_max] is read (with the f0, read_stiffness)
    # and stored as the timbre feature sqrt(B / stretch_max); 0: harmonics at exact multiples of the tracked f0
    stretch_steps: int = 12  # stiffness search: this many values even in sqrt(B), then as many within a step of the best
    pitch_latent_std: float = 0.0  # > 0: the pitch channels are scaled to this std instead of latent_std, so that a
    # cent is a larger step in the latents (at 0.5 one latent unit spans about 20 semitones of the corpus's pitch)
    timbre_latent_std: float = 0.0  # > 0: the timbre channels are fitted to this std instead of latent_std, so that a
    # denoiser resolves them later in its schedule (EDM resolves a feature of amplitude a around sigma a) than the
    # structure; 0: latent_std
    onset_hold_s: float = 0.0  # > 0: the onset feature holds each level rise and releases it by a factor e in this
    # many seconds (held_rises), so that a note's start spans frames a denoiser can place; 0: each frame's own rise
    onset_saturation: float = 0.0  # > 0: the onset feature is 1 - exp(-rise / this) of the (held) rise in nats, bounded
    # below 1, so that an attack from silence is not tens of latent units where every other frame is near 0; 0: the rise

    @property
    def structure_channels(self) -> int:
        return len(STRUCTURE_FEATURES) * self.stride

    @property
    def timbre_features(self) -> int:
        """Timbre numbers per STFT frame: level, harmonic amplitudes, noise-floor cepstrum (and the stiffness)."""
        return 1 + self.harmonics + self.floor_lifter + 1 + int(self.stretch_max > 0)

    @property
    def channels(self) -> int:
        return self.structure_channels + self.timbre_channels


@dataclass(frozen=True)
class HarmonicFrames:
    """What the codec reads from each STFT frame (B, ..., N): f0 in Hz, onset strength and periodicity (structure);
    log level, harmonic log amplitudes relative to the level (B, K, N) and the noise floor's cepstrum relative to the
    level (B, L + 1, N) and, for a codec with stretch_max, the stiffness feature sqrt(B / stretch_max) (B, N) (timbre)."""

    hz: Tensor
    onset: Tensor
    periodicity: Tensor
    level: Tensor
    amplitudes: Tensor
    floor: Tensor
    stretch: Tensor | None = None


def held_rises(rise: Tensor, release_frames: float) -> Tensor:
    """(B, N) level rises per frame -> each frame's largest rise of the frames up to it, released by a factor e every
    `release_frames` frames: max over k of rise[n - k] exp(-k / release_frames), for k up to where the release reaches
    1 / 100 (a peak hold with an exponential release, as an envelope follower's)."""
    window = math.ceil(release_frames * math.log(100.0))
    release = torch.exp(-torch.arange(window, dtype=rise.dtype, device=rise.device) / release_frames)
    past = F.pad(rise, (window - 1, 0)).unfold(-1, window, 1)  # (B, N, window): frames n - window + 1 .. n
    return (past * release.flip(0)).amax(-1)


def hann_lobe(offset: Tensor) -> Tensor:
    """The Hann window's main lobe at fractional bin offsets, 1 at 0 and 0 from 2 bins on: |sinc(d) / (1 - d^2)|."""
    d = offset.abs()
    near_one = (d - 1).abs() < 1e-4
    lobe = torch.sinc(d) / torch.where(near_one, torch.ones_like(d), 1 - d**2)
    return torch.where(d >= 2, torch.zeros_like(d), torch.where(near_one, torch.full_like(d, 0.5), lobe.abs()))


class HarmonicCodec(SpectralFrames):
    """Codec protocol: encode (B, S) -> (B, C, ceil(S / hop_length)); decode (B, C, T) -> (B, T * hop_length).
    Channels [0, structure_channels) are structure (pitch, onset, periodicity of each STFT frame), the rest timbre."""

    kind = "harmonic_codec"

    def __init__(self, config: HarmonicCodecConfig = HarmonicCodecConfig()):
        super().__init__(config)
        c = config
        self.register_buffer("structure_mean", torch.zeros(c.structure_channels))
        self.register_buffer("structure_std", torch.ones(c.structure_channels))
        self.enc_linear = nn.Conv1d(c.timbre_features * c.stride, c.timbre_channels, 1)
        self.dec_linear = nn.Conv1d(c.timbre_channels, c.timbre_features * c.stride, 1)
        if c.register_knots == 1:
            raise ValueError("register_knots must be 0 (no register mean) or at least 2")
        if c.harmonic_ceiling_hz < 0:
            raise ValueError(f"harmonic_ceiling_hz must be 0 (up to Nyquist) or a frequency in Hz, "
                             f"got {c.harmonic_ceiling_hz}")
        if c.stretch_max < 0 or (c.stretch_max > 0 and c.stretch_steps < 2):
            raise ValueError(f"stretch_max must be 0 (harmonic) or a stiffness searched over at least 2 steps, "
                             f"got stretch_max {c.stretch_max} with stretch_steps {c.stretch_steps}")
        if c.onset_hold_s < 0:
            raise ValueError(f"onset_hold_s must be 0 (each frame's own rise) or a time in seconds, "
                             f"got {c.onset_hold_s}")
        if c.onset_saturation < 0:
            raise ValueError(f"onset_saturation must be 0 (the rise itself) or a rise in nats, "
                             f"got {c.onset_saturation}")
        if c.pitch_latent_std < 0:
            raise ValueError(f"pitch_latent_std must be 0 (latent_std) or a positive std, got {c.pitch_latent_std}")
        if c.timbre_latent_std < 0:
            raise ValueError(f"timbre_latent_std must be 0 (latent_std) or a positive std, got {c.timbre_latent_std}")
        if c.register_knots:
            self.register_buffer("register_mean", torch.zeros(c.timbre_features, c.register_knots))

    @property
    def structure_channels(self) -> int:
        """Leading latent channels that hold the structure by construction (pitch, onset, periodicity)."""
        return self.config.structure_channels

    def structure_latent_std(self) -> Tensor:
        """(structure_channels,) the std each structure channel is scaled to on the training frames: pitch_latent_std
        for the pitch channels when set, latent_std for the rest."""
        c = self.config
        std = torch.full_like(self.structure_std, c.latent_std)
        if c.pitch_latent_std > 0:
            std[: c.stride] = c.pitch_latent_std  # the pitch of each of the latent frame's STFT frames comes first
        return std

    @property
    def timbre_latent_scale(self) -> float:
        """The timbre channels' std over latent_std (1 unless timbre_latent_std is set): this codec's timbre latents
        are the plain codec's times this factor."""
        c = self.config
        return c.timbre_latent_std / c.latent_std if c.timbre_latent_std > 0 else 1.0

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.config.n_fft

    def audible(self, position: Tensor) -> Tensor:
        """Fractional harmonic bins -> whether each is read and rendered: below the ceiling and 2 bins below Nyquist."""
        limit = self.bins - 2
        if self.config.harmonic_ceiling_hz > 0:
            limit = min(limit, self.config.harmonic_ceiling_hz / self.bin_hz)
        return position < limit

    def harmonic_positions(self, hz: Tensor, stretch: Tensor | None = None) -> Tensor:
        """(B, N) f0 and stiffness feature -> (B, K, N) fractional bins of partials 1..K, at k f0 sqrt(1 + B k^2) with
        B = stretch_max * stretch^2 (the stretch clamped to [0, 1]); exact multiples without a stretch."""
        k = torch.arange(1, self.config.harmonics + 1, device=hz.device, dtype=hz.dtype)
        ratio = k[:, None] * torch.ones_like(hz)[:, None]
        if stretch is not None and self.config.stretch_max > 0:
            stiffness = self.config.stretch_max * stretch.clamp(0, 1) ** 2
            ratio = ratio * torch.sqrt(1 + stiffness[:, None] * k[:, None] ** 2)
        return ratio * hz[:, None] / self.bin_hz

    def stretch_score(self, magnitude: Tensor, floor: Tensor, hz: Tensor, stretch: Tensor,
                      frames: Tensor | None = None) -> Tensor:
        """(B, N): the log magnitude the audible partial positions at this stiffness feature hold, each partial read
        by a Hann main lobe centred on it (a matched filter, so no position is favoured for falling on a bin) and
        floored at the frame's `floor` (B, N). Only audible partials are read (the rest count 0), and with `frames`
        (B, N) only those frames' (the others' scores are then meaningless)."""
        position = self.harmonic_positions(hz, stretch)
        audible = self.audible(position)
        b, k, n = (audible if frames is None else audible & frames[:, None]).nonzero(as_tuple=True)
        at = position[b, k, n]
        start = at.floor().long() - 1
        read = torch.zeros_like(at)
        for shift in range(4):  # the main lobe spans 4 bins around each partial
            index = start + shift
            inside = (index >= 0) & (index < self.bins)
            read = read + magnitude[b, index.clamp(0, self.bins - 1), n] * hann_lobe(index - at) * inside
        matched = torch.zeros_like(position)
        matched[b, k, n] = read
        return (torch.maximum(matched.clamp_min(1e-12).log(), floor[:, None]) * audible).sum(1)

    def search_stretch(self, magnitude: Tensor, floor: Tensor, hz: Tensor, frames: Tensor | None = None) -> Tensor:
        """(B, N) the stiffness feature at f0 `hz` whose partial positions hold the most log magnitude (stretch_score):
        stretch_steps values even in sqrt(B), then as many within one step of the best; ties keep the smaller on the
        grid, and the grid's value in the refinement. With `frames` (B, N), only those frames are searched (the others'
        values are then meaningless)."""
        steps = self.config.stretch_steps
        best = torch.zeros_like(hz)
        for offsets in (torch.linspace(0, 1, steps), torch.linspace(-1, 1, steps) / (steps - 1)):
            centre, best_score = best, torch.full_like(hz, -torch.inf)
            for offset in sorted(offsets.tolist(), key=abs):
                candidate = (centre + offset).clamp(0, 1)
                score = self.stretch_score(magnitude, floor, hz, candidate, frames)
                better = score > best_score
                best_score, best = torch.where(better, score, best_score), torch.where(better, candidate, best)
        return best

    def fundamental_from_partials(self, logmag: Tensor, hz: Tensor, stretch: Tensor) -> Tensor:
        """(B, N) f0 from the peaks of the lowest F0_PARTIALS partials near their stretched positions (each peak's
        frequency by a parabola through the log magnitude of its bin and neighbours, Smith and Serra 1987), each
        divided by k sqrt(1 + B k^2) and averaged with weight k^2 (a peak's error in Hz is shared by k) over the
        partials that agree with the fundamental's own within F0_AGREEMENT_CENTS (a mallet's partials are not a
        string's, and must not pull its f0); the tracked f0 where the fundamental is not a peak."""
        k = torch.arange(1, F0_PARTIALS + 1, dtype=hz.dtype)
        position = self.harmonic_positions(hz, stretch)[:, :F0_PARTIALS]
        ratio = position * self.bin_hz / hz[:, None].clamp_min(1e-6)  # k sqrt(1 + B k^2)
        nearest = position.round().long().clamp(1, self.bins - 2)
        around = torch.stack([logmag.gather(1, nearest + s) for s in (-1, 0, 1)])  # (3, B, K, N)
        peak = (nearest + around.argmax(0) - 1).clamp(1, self.bins - 2)  # the largest of the three bins
        a, b, c = (logmag.gather(1, peak + s) for s in (-1, 0, 1))
        curvature = a - 2 * b + c
        is_peak = (b >= a) & (b >= c) & (curvature < 0)
        offset = torch.where(is_peak, 0.5 * (a - c) / torch.where(is_peak, curvature, -torch.ones_like(curvature)),
                             torch.zeros_like(b))
        estimate = (peak + offset) * self.bin_hz / ratio
        agrees = (1200 * torch.log2(estimate / estimate[:, :1]).abs() < F0_AGREEMENT_CENTS) & is_peak[:, :1]
        weight = k[:, None] ** 2 * is_peak * agrees
        refined = (estimate * weight).sum(1) / weight.sum(1).clamp_min(1e-6)
        return torch.where(weight.sum(1) > 0, refined, hz)

    def read_stiffness(self, logmag: Tensor, magnitude: Tensor, hz: Tensor) -> tuple[Tensor, Tensor]:
        """Log-magnitude frames (B, bins, N), the same frames' magnitude (analyse has it already) and tracked f0
        (B, N) -> the f0 and stiffness feature (B, N) each: the stiffness searched at the tracked f0, the f0 refined
        from the lowest partials' peaks at that stiffness (the upper partials of a stiff string pull a tracker sharp,
        and rendering a stretch on a sharp f0 would raise the pitch heard), and the stiffness searched again at the
        refined f0 (in the frames whose f0 it moved: elsewhere the search would read what it read). Each frame is
        floored STRETCH_READ_DEPTH below its loudest bin for the search."""
        floor = logmag.amax(1) - STRETCH_READ_DEPTH
        stretch = self.search_stretch(magnitude, floor, hz)
        refined = self.fundamental_from_partials(logmag, hz, stretch)
        moved = refined != hz
        return refined, torch.where(moved, self.search_stretch(magnitude, floor, refined, moved), stretch)

    def analyse(self, logmag: Tensor) -> HarmonicFrames:
        """Log-magnitude frames (B, bins, N) -> the codec's per-frame numbers."""
        c = self.config
        magnitude = logmag.exp()
        pitch = track_pitch(magnitude, self.sample_rate, c.n_fft, c.low_hz, c.high_hz)
        level = magnitude.pow(2).sum(1).clamp_min(1e-12).log() / 2
        onset = F.relu(level - torch.cat([level[:, :1], level[:, :-1]], dim=1))  # rises of the log level
        if c.onset_hold_s > 0:
            onset = held_rises(onset, c.onset_hold_s * self.sample_rate / c.stft_hop)
        if c.onset_saturation > 0:
            onset = -torch.expm1(-onset / c.onset_saturation)
        hz, stretch = self.read_stiffness(logmag, magnitude, pitch.hz) if c.stretch_max > 0 else (pitch.hz, None)
        position = self.harmonic_positions(hz, stretch)
        nearest = position.round().long().clamp(0, self.bins - 1)
        peak = torch.stack([magnitude.gather(1, (nearest + s).clamp(0, self.bins - 1)) for s in (-1, 0, 1)]).amax(0)
        amplitude = peak / hann_lobe(nearest - position).clamp_min(0.5)  # the lobe's peak, not its nearest sample
        relative = amplitude.clamp_min(LOG_FLOOR).log() - level[:, None]
        relative = torch.where(self.audible(position), relative, torch.full_like(relative, ABSENT_HARMONIC))
        low = -F.max_pool1d(-magnitude.transpose(1, 2), c.floor_window, 1, c.floor_window // 2)
        floor = cepstral_coefficients(low.clamp_min(LOG_FLOOR).log(), c.floor_lifter).transpose(1, 2)
        floor = torch.cat([floor[:, :1] - level[:, None], floor[:, 1:]], dim=1)  # c0 (the mean log) relative to the level
        return HarmonicFrames(hz, onset, pitch.periodicity, level, relative, floor, stretch)

    def render(self, hz: Tensor, level: Tensor, amplitudes: Tensor, floor: Tensor,
               stretch: Tensor | None = None) -> Tensor:
        """Per-frame f0 and level (B, N), relative harmonic log amplitudes (B, K, N), noise-floor cepstrum
        (B, L + 1, N) and stiffness feature (B, N) -> magnitude frames (B, bins, N): Hann main lobes at the audible
        partial positions over the floor."""
        position = self.harmonic_positions(hz, stretch)
        start = position.floor().long() - 1
        weight = (amplitudes + level[:, None]).clamp(max=10.0).exp() * self.audible(position)
        spectrum = envelope_from_coefficients(floor.transpose(1, 2), self.bins).transpose(1, 2) + level[:, None]
        spectrum = spectrum.clamp(max=10.0).exp()
        for shift in range(4):  # the main lobe spans 4 bins around each harmonic
            index = start + shift
            lobe = hann_lobe(index - position) * weight * ((index >= 0) & (index < self.bins))
            spectrum = spectrum.scatter_add(1, index.clamp(0, self.bins - 1), lobe)
        return spectrum

    def register_offset(self, hz: Tensor) -> Tensor:
        """(B, N) f0 -> (B, F, N): the timbre features' fitted mean at each frame's pitch (needs register knots)."""
        c = self.config
        weights = register_weights(hz, c.register_knots, c.low_hz, c.high_hz).to(self.register_mean.dtype)
        return torch.einsum("fk,bnk->bfn", self.register_mean, weights)

    def shift_register(self, timbre: Tensor, hz: Tensor, sign: float) -> Tensor:
        """Per-frame timbre features (B, F, N) plus sign times their register mean at f0 (B, N); unchanged (the same
        tensor, no work) for a codec without knots."""
        return timbre + sign * self.register_offset(hz) if self.config.register_knots else timbre

    def raw_timbre(self, frames: HarmonicFrames) -> Tensor:
        """(B, F, N): each STFT frame's level, relative harmonic log amplitudes, noise-floor cepstrum and, for a codec
        with stretch_max, stiffness feature."""
        parts = [frames.level[:, None], frames.amplitudes, frames.floor]
        if self.config.stretch_max > 0:
            if frames.stretch is None:
                raise ValueError("this codec reads a stiffness per frame (stretch_max > 0); the frames carry none")
            parts.append(frames.stretch[:, None])
        return torch.cat(parts, dim=1)

    def frames_to_features(self, frames: HarmonicFrames) -> tuple[Tensor, Tensor]:
        """Per-STFT-frame numbers -> stacked structure (B, 3 * stride, T) and timbre (B, F * stride, T) features,
        the timbre less its register mean."""
        structure = torch.stack([torch.log2(frames.hz / REFERENCE_HZ), frames.onset, frames.periodicity], dim=1)
        timbre = self.shift_register(self.raw_timbre(frames), frames.hz, -1.0)
        return self.stack_frames(structure), self.stack_frames(timbre)

    def features(self, logmag: Tensor) -> tuple[Tensor, Tensor]:
        """Log-magnitude frames (B, bins, stride * T) -> stacked structure and timbre features (unscaled)."""
        return self.frames_to_features(self.analyse(logmag))

    def structure_latents(self, structure: Tensor) -> Tensor:
        """Stacked structure features (B, 3 * stride, T) -> the structure channels of the latents (scaled)."""
        latent_std = self.structure_latent_std()[:, None]
        return (structure - self.structure_mean[:, None]) / self.structure_std[:, None] * latent_std

    def structure_frames(self, latents: Tensor) -> Tensor:
        """Latents (B, C, T) -> (B, 3, stride * T): each STFT frame's log2(f0 / middle C), onset and periodicity, as
        the structure channels hold them (unscaled)."""
        z = latents[:, : self.config.structure_channels].to(self.structure_std.dtype)
        latent_std = self.structure_latent_std()[:, None]
        return self.interleave(z / latent_std * self.structure_std[:, None] + self.structure_mean[:, None])

    def encode_log_magnitude(self, logmag: Tensor) -> Tensor:
        structure, timbre = self.features(logmag)
        return torch.cat([self.structure_latents(structure), self.enc_linear(timbre)], dim=1)

    def rendered_frames(self, latents: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor | None]:
        """What the decoder renders from latents (B, C, T), per STFT frame: f0 (B, N), log level (B, N), relative
        harmonic log amplitudes (B, K, N), the noise floor's cepstrum (B, L + 1, N) and the stiffness feature (B, N;
        None for a codec without stretch_max)."""
        c = self.config
        z = latents.to(self.dec_linear.weight.dtype)
        hz = REFERENCE_HZ * 2 ** self.structure_frames(z)[:, 0].clamp(-4, 4)
        timbre = self.shift_register(self.interleave(self.dec_linear(z[:, c.structure_channels:])), hz, 1.0)
        stretch_parts = [1] if c.stretch_max > 0 else []
        level, amplitudes, floor, *stretch = timbre.split([1, c.harmonics, c.floor_lifter + 1, *stretch_parts], dim=1)
        return hz, level[:, 0], amplitudes, floor, stretch[0][:, 0] if stretch else None

    def level_directions(self) -> Tensor:
        """(C, stride): column s moves the level feature the decoder reads for STFT frame s of every latent frame by
        one nat and the other frame's by none, with the least change to every other timbre feature (least squares
        through dec_linear; the decoder cannot change the level alone). Zero on the structure channels."""
        c = self.config
        weight = self.dec_linear.weight.detach()[:, :, 0]  # (features * stride, timbre_channels)
        least = torch.linalg.pinv(weight.double())[:, : c.stride]  # the level is feature 0: rows 0 .. stride - 1
        unit = least @ torch.linalg.inv(weight.double()[: c.stride] @ least)
        directions = torch.zeros(c.channels, c.stride, dtype=weight.dtype, device=weight.device)
        directions[c.structure_channels:] = unit.to(weight.dtype)
        return directions

    def rendered_level(self, latents: Tensor) -> Tensor:
        """Latents (B, C, T) -> (B, stride * T): each rendered STFT frame's log level as `analyse` reads one (half
        the log of the frame's power), before Griffin-Lim."""
        return self.render(*self.rendered_frames(latents)).pow(2).sum(1).clamp_min(1e-12).log() / 2

    def with_level_moved(self, latents: Tensor, by: Tensor, directions: Tensor | None = None) -> Tensor:
        """Latents (B, C, T) moved along level_directions (or `directions`, the same computed once) so that each
        STFT frame's level feature rises by `by` (B, stride * T) nats (the rendered frame nearly as much: the other
        features move a little too)."""
        directions = self.level_directions() if directions is None else directions
        steps = self.stack_frames(by[:, None].to(latents.dtype))  # (B, stride, T)
        return latents + torch.einsum("cr,brt->bct", directions.to(latents.dtype), steps)

    def hold_level(self, guided: Tensor, conditional: Tensor, rounds: int = LEVEL_HOLD_ROUNDS) -> Tensor:
        """Guided latents (B, C, T) moved along level_directions until each rendered STFT frame's level is the
        conditional latents' (B, C, T) (`rounds` corrections, each by what is left): guidance keeps its push on the
        spectrum's shape, and the loudness stays where the condition alone puts it."""
        wanted, directions = self.rendered_level(conditional), self.level_directions()
        for _ in range(rounds):
            guided = self.with_level_moved(guided, wanted - self.rendered_level(guided), directions)
        return guided

    def log_magnitude_of(self, hz: Tensor, level: Tensor, amplitudes: Tensor, floor: Tensor,
                         stretch: Tensor | None = None) -> Tensor:
        """Rendered frames' log magnitude, floored as encoding floors it."""
        return self.render(hz, level, amplitudes, floor, stretch).clamp_min(LOG_FLOOR).log()

    def decode_log_magnitude(self, latents: Tensor) -> Tensor:
        return self.log_magnitude_of(*self.rendered_frames(latents))

    def swap_timbre(self, latents: Tensor, donor: Tensor) -> Tensor:
        """Latents (B, C, T) keeping their structure channels, with the timbre channels of donor latents (B, C, T),
        frame by frame."""
        s = self.config.structure_channels
        return torch.cat([latents[:, :s], donor[:, s:]], dim=1)
