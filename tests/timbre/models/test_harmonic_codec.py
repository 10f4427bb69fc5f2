import math
from dataclasses import replace

import pytest
import torch

from timbre.analysis.structure_leak import pitch_r2_from_timbre
from timbre.models.checkpoint import load_component, save_component
from timbre.models.harmonic_codec import ABSENT_HARMONIC, HarmonicCodec, HarmonicCodecConfig, hann_lobe, held_rises
from timbre.pitch_tracking import track_pitch
from timbre.training.harmonic_codec import HarmonicCodecTrainingConfig, train_harmonic_codec
from timbre.training.pool import Pool

RATE = 16000
TINY = HarmonicCodecConfig(n_fft=512, stft_hop=128, stride=2, harmonics=12, floor_lifter=4, floor_window=5,
                           timbre_channels=8, low_hz=180.0, high_hz=1100.0, griffin_lim_iters=16)
BRIGHT = [1 / k for k in range(1, 13)]  # every harmonic
HOLLOW = [1 / k if k % 2 else 0.0 for k in range(1, 13)]  # odd harmonics only


def _tone(f0: float, amplitudes, seconds: float = 0.25, gain: float = 0.1) -> torch.Tensor:
    t = torch.arange(int(seconds * RATE)) / RATE
    return gain * sum(a * torch.sin(2 * math.pi * (k + 1) * f0 * t) for k, a in enumerate(amplitudes)
                      if (k + 1) * f0 < RATE / 2)


def _pool(notes=40, seed=0) -> Pool:
    g = torch.Generator().manual_seed(seed)
    rows, instruments = [], []
    for i in range(notes):
        f0 = float(200 * 2 ** (2 * torch.rand((), generator=g)))
        rows.append(torch.cat([_tone(f0, (BRIGHT, HOLLOW)[i % 2], 0.5), torch.zeros(2000)]))
        instruments.append(i % 2)
    audio = torch.stack(rows)
    return Pool(audio, torch.full((notes,), audio.shape[1]), torch.tensor(instruments))


REGISTER = replace(TINY, register_knots=24)  # the timbre features' mean per register taken out


@pytest.fixture(scope="module", params=[TINY, REGISTER], ids=["plain", "register"])
def fitted(request) -> HarmonicCodec:
    return train_harmonic_codec(request.param, HarmonicCodecTrainingConfig(pca_crops=24, crop_seconds=0.25),
                                _pool())[0]


def _pitch(wave: torch.Tensor) -> torch.Tensor:
    magnitude = torch.stft(wave, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
    return track_pitch(magnitude, RATE, 1024, 110.0, 1250.0).hz[:, 3:-3]


def _harmonic_levels(wave: torch.Tensor, f0: float, count: int = 6) -> torch.Tensor:
    """Magnitude of the wave's spectrum at harmonics 1..count, from one long FFT."""
    spectrum = torch.fft.rfft(wave * torch.hann_window(wave.shape[-1])).abs()
    hz = torch.arange(spectrum.shape[-1]) * RATE / wave.shape[-1]
    return torch.stack([spectrum[..., ((hz - k * f0).abs() < f0 / 4)].amax(-1) for k in range(1, count + 1)], -1)


def test_shapes_and_channel_layout():
    codec = HarmonicCodec(TINY)
    assert codec.channels == 6 + 8 and codec.config.structure_channels == 6 and codec.hop_length == 256
    for samples in (256, 1000, 4096):
        z = codec.encode(torch.randn(2, samples) * 0.1)
        assert z.shape == (2, 14, math.ceil(samples / 256))
        assert codec.decode(z).shape == (2, z.shape[-1] * 256)


def test_the_hann_lobe_matches_the_window_transform():
    fine = torch.fft.rfft(torch.hann_window(512), n=64 * 512).abs()
    offsets = torch.tensor([0.0, 0.3, 0.5, 1.0, 1.5, 1.9])
    sampled = fine[(offsets * 64).round().long()] / fine[0]
    assert torch.allclose(hann_lobe(offsets), sampled, atol=2e-3)
    assert hann_lobe(torch.tensor([2.0, 3.3])).tolist() == [0.0, 0.0]


def test_analysis_reads_f0_and_harmonic_amplitudes_and_rendering_puts_them_back():
    codec = HarmonicCodec(TINY)
    f0, amplitudes = 311.1, [1.0, 0.5, 0.25, 0.6, 0.1, 0.3]
    logmag = codec.log_magnitude(_tone(f0, amplitudes)[None])
    frames = codec.analyse(logmag)
    inner = slice(4, -4)
    assert (1200 * torch.log2(frames.hz[0, inner] / f0)).abs().max() < 5
    relative = (frames.amplitudes[0, :6, inner] - frames.amplitudes[0, :1, inner]).exp().median(-1).values
    assert torch.allclose(relative, torch.tensor(amplitudes), rtol=0.05)  # ratios to the fundamental
    assert (frames.amplitudes[0, 6:, inner] < frames.amplitudes[0, :1, inner] - 4).all()  # absent harmonics are low
    rendered = codec.render(frames.hz, frames.level, frames.amplitudes, frames.floor)
    peaks = (torch.arange(1, 7)[:, None] * frames.hz[0, inner] / codec.bin_hz).round().long()
    true, rebuilt = logmag.exp()[0, :, inner].gather(0, peaks), rendered[0, :, inner].gather(0, peaks)
    assert torch.allclose(rebuilt, true, rtol=0.05)


@torch.no_grad()
def test_fitting_scales_every_channel_and_the_round_trip_keeps_pitch_and_timbre(fitted):
    assert float(fitted.structure_std[0]) > 0
    z = torch.cat([fitted.encode(_tone(f, BRIGHT, 1.0)[None]) for f in (220.0, 440.0, 660.0)])
    assert 0.2 < float(z[:, 6:].std()) < 1.0  # scaled near 0.5
    for amplitudes in (BRIGHT, HOLLOW):
        wave = _tone(277.2, amplitudes, 1.0)[None]
        out = fitted.decode(fitted.encode(wave))
        assert (1200 * torch.log2(_pitch(out) / 277.2)).abs().median() < 10
        levels = _harmonic_levels(out[0, 2000:14000], 277.2)
        even_to_odd = float(levels[1::2].sum() / levels[0::2].sum())
        assert even_to_odd > 0.3 if amplitudes is BRIGHT else even_to_odd < 0.1


@torch.no_grad()
def test_swapped_timbre_keeps_the_structure_pitch_and_brings_the_donor_spectrum(fitted):
    source = fitted.encode(_tone(233.1, BRIGHT, 1.0)[None])
    donor = fitted.encode(_tone(415.3, HOLLOW, 1.0)[None])
    out = fitted.decode(fitted.swap_timbre(source, donor))
    assert (1200 * torch.log2(_pitch(out) / 233.1)).abs().median() < 10
    levels = _harmonic_levels(out[0, 2000:14000], 233.1)
    assert float(levels[1::2].sum() / levels[0::2].sum()) < 0.1  # the donor's odd-only pattern, at the source's f0


@torch.no_grad()
def test_decoding_reads_only_the_pitch_of_the_structure_channels(fitted):
    z = fitted.encode(_tone(300.0, BRIGHT, 0.5)[None])
    other = z.clone()
    other[:, 2:6] = torch.randn(1, 4, z.shape[-1])  # onset and periodicity
    assert torch.equal(fitted.decode_log_magnitude(z), fitted.decode_log_magnitude(other))
    shifted = z.clone()
    shifted[:, :2] += 0.5
    assert not torch.allclose(fitted.decode_log_magnitude(z), fitted.decode_log_magnitude(shifted))


@torch.no_grad()
def test_encoding_is_per_item_and_round_trips_through_a_component_file(fitted, tmp_path):
    waves = torch.stack([_tone(250.0, BRIGHT, 0.5), _tone(500.0, HOLLOW, 0.5)])
    together = fitted.encode(waves)
    assert torch.allclose(together[1:], fitted.encode(waves[1:]), atol=1e-5)
    save_component(fitted, tmp_path / "codec.safetensors")
    loaded = load_component(tmp_path / "codec.safetensors")
    assert isinstance(loaded, HarmonicCodec) and loaded.config == fitted.config
    assert torch.equal(loaded.encode(waves), together)


def _pitch_r2(codec: HarmonicCodec, audio: torch.Tensor) -> float:
    with torch.no_grad():
        return pitch_r2_from_timbre(codec, codec.encode(audio))


def test_a_register_mean_takes_the_pitch_out_of_the_timbre_channels():
    """The features' mean at each pitch is subtracted, so the timbre channels of unseen notes hold less of it."""
    training = HarmonicCodecTrainingConfig(pca_crops=24, crop_seconds=0.25)
    plain, _ = train_harmonic_codec(TINY, training, _pool())
    register, metrics = train_harmonic_codec(REGISTER, training, _pool())
    assert 0.3 < metrics["register_variance_explained"] < 1
    unseen = _pool(seed=1).audio
    assert _pitch_r2(plain, unseen) > 0.85
    assert _pitch_r2(register, unseen) < 0.6
    with pytest.raises(ValueError, match="register_knots"):
        HarmonicCodec(replace(TINY, register_knots=1))


def test_a_harmonic_ceiling_leaves_the_band_above_it_to_the_noise_floor():
    plain, capped = HarmonicCodec(TINY), HarmonicCodec(replace(TINY, harmonic_ceiling_hz=2000.0))
    f0 = 311.1  # harmonics 1-6 below 2 kHz, 7-12 above
    logmag = plain.log_magnitude(_tone(f0, BRIGHT)[None])
    read, kept = capped.analyse(logmag), plain.analyse(logmag)
    assert (read.amplitudes[0, 6:] == ABSENT_HARMONIC).all()
    assert (kept.amplitudes[0, 6:, 4:-4] > ABSENT_HARMONIC + 2).all()  # without the ceiling they are read
    assert torch.equal(read.amplitudes[:, :6], kept.amplitudes[:, :6]) and torch.equal(read.floor, kept.floor)
    loud = torch.zeros_like(read.amplitudes)  # every harmonic asked as loud as the level
    above = (torch.arange(capped.bins) * capped.bin_hz > 2000.0 + 2 * capped.bin_hz)
    rendered = capped.render(read.hz, read.level, loud, read.floor)
    floor_only = capped.render(read.hz, read.level, torch.full_like(loud, -30.0), read.floor)
    assert torch.allclose(rendered[:, above], floor_only[:, above])
    assert (rendered[:, ~above] > floor_only[:, ~above] * 2).any()
    assert not torch.allclose(plain.render(read.hz, read.level, loud, read.floor)[:, above], floor_only[:, above])
    with pytest.raises(ValueError, match="harmonic_ceiling_hz"):
        HarmonicCodec(replace(TINY, harmonic_ceiling_hz=-1.0))


STIFF = replace(TINY, stretch_max=1e-3)


def _stiff_tone(f0: float, stiffness: float, amplitudes, seconds: float = 0.25, gain: float = 0.1) -> torch.Tensor:
    """Partial k at k f0 sqrt(1 + B k^2), as the corpus's stiff strings."""
    t = torch.arange(int(seconds * RATE)) / RATE
    ratios = [(k + 1) * math.sqrt(1 + stiffness * (k + 1) ** 2) for k in range(len(amplitudes))]
    return gain * sum(a * torch.sin(2 * math.pi * r * f0 * t) for r, a in zip(ratios, amplitudes) if r * f0 < RATE / 2)


def test_a_stiffness_read_per_frame_finds_stretched_partials_and_renders_them_where_they_sound():
    f0, stiffness, inner = 311.1, 6e-4, slice(4, -4)  # partial 12 sounds 4% (5 bins) above 12 f0
    amplitudes = [1 / k for k in range(1, 13)]
    logmag = HarmonicCodec(TINY).log_magnitude(_stiff_tone(f0, stiffness, amplitudes)[None])
    stiff, plain = HarmonicCodec(STIFF), HarmonicCodec(TINY)
    read, harmonic = stiff.analyse(logmag), plain.analyse(logmag)
    found = STIFF.stretch_max * read.stretch[0, inner] ** 2
    assert ((found - stiffness).abs() < 0.15 * stiffness).all()
    assert (1200 * torch.log2(harmonic.hz[0, inner] / f0)).median() > 10  # the tracker is pulled sharp ...
    assert (1200 * torch.log2(read.hz[0, inner] / f0)).abs().max() < 5  # ... the partials' peaks put f0 back
    relative = (read.amplitudes[0, :, inner] - read.amplitudes[0, :1, inner]).exp().median(-1).values
    assert torch.allclose(relative, torch.tensor(amplitudes), rtol=0.2)  # every partial read near its peak
    missed = (harmonic.amplitudes[0, 9:, inner] - harmonic.amplitudes[0, :1, inner]).exp().median(-1).values
    assert (missed < 0.5 * torch.tensor(amplitudes[9:])).all()  # read at k f0, the upper partials are off their peaks
    rendered = stiff.render(read.hz, read.level, read.amplitudes, read.floor, read.stretch)
    peaks = stiff.harmonic_positions(read.hz, read.stretch)[0, :, inner].round().long()
    true, rebuilt = logmag.exp()[0, :, inner].gather(0, peaks), rendered[0, :, inner].gather(0, peaks)
    assert torch.allclose(rebuilt, true, rtol=0.25)
    unstretched = plain.render(read.hz, read.level, read.amplitudes, read.floor)[0, :, inner].gather(0, peaks)
    assert (unstretched[10:] < 0.5 * true[10:]).all()  # rendered at k f0, nothing sounds where the partials are


@torch.no_grad()
def test_a_harmonic_tone_reads_no_stiffness_and_the_feature_round_trips_through_the_fitted_codec():
    codec = HarmonicCodec(STIFF)
    read = codec.analyse(codec.log_magnitude(_tone(311.1, BRIGHT)[None]))
    assert (STIFF.stretch_max * read.stretch[0, 4:-4] ** 2 < 5e-5).all()
    g = torch.Generator().manual_seed(0)
    f0s = (200 * 2 ** (2 * torch.rand(40, generator=g))).tolist()
    audio = torch.stack([torch.cat([_stiff_tone(f0, 6e-4 * (i % 2), BRIGHT, 0.5), torch.zeros(2000)])
                         for i, f0 in enumerate(f0s)])
    pool = Pool(audio, torch.full((40,), audio.shape[1]), torch.arange(40) % 2)
    fitted, _ = train_harmonic_codec(STIFF, HarmonicCodecTrainingConfig(pca_crops=24, crop_seconds=0.25), pool)
    assert fitted.enc_linear.in_channels == 2 * (1 + 12 + 5 + 1)
    for stiffness in (0.0, 6e-4):
        wave = _stiff_tone(277.2, stiffness, BRIGHT, 1.0)[None]
        hz, level, amplitudes, floor, stretch = fitted.rendered_frames(fitted.encode(wave))
        analysed = fitted.analyse(fitted.log_magnitude(wave)).stretch
        assert (stretch[0, 4:-4] - analysed[0, 4:-4]).abs().median() < 0.1  # the feature survives the channels
        decoded = _pitch(fitted.decode(fitted.encode(wave))[:, : wave.shape[-1]])
        assert (1200 * torch.log2(decoded / _pitch(wave))).abs().median() < 5  # the pitch heard, sharp or not
    assert HarmonicCodec(TINY).rendered_frames(HarmonicCodec(TINY).encode(wave))[-1] is None
    with pytest.raises(ValueError, match="frames carry none"):
        codec.raw_timbre(replace(read, stretch=None))
    with pytest.raises(ValueError, match="stretch_max"):
        HarmonicCodec(replace(TINY, stretch_max=-1e-3))


def _dense_stiffness_read(codec: HarmonicCodec, logmag: torch.Tensor, hz: torch.Tensor):
    """The stiffness read written plainly: every partial of every frame scored, the search run twice over all frames."""
    magnitude, floor, steps = logmag.exp(), logmag.amax(1) - 7.0, codec.config.stretch_steps

    def score(f0, stretch):
        position = codec.harmonic_positions(f0, stretch)
        start, matched = position.floor().long() - 1, torch.zeros_like(position)
        for shift in range(4):
            index = start + shift
            inside = (index >= 0) & (index < codec.bins)
            matched = matched + magnitude.gather(1, index.clamp(0, codec.bins - 1)) * hann_lobe(index - position) * inside
        return (torch.maximum(matched.clamp_min(1e-12).log(), floor[:, None]) * codec.audible(position)).sum(1)

    def search(f0):
        best = torch.zeros_like(f0)
        for offsets in (torch.linspace(0, 1, steps), torch.linspace(-1, 1, steps) / (steps - 1)):
            centre, top = best, torch.full_like(f0, -torch.inf)
            for offset in sorted(offsets.tolist(), key=abs):
                candidate = (centre + offset).clamp(0, 1)
                value = score(f0, candidate)
                top, best = torch.where(value > top, value, top), torch.where(value > top, candidate, best)
        return best

    refined = codec.fundamental_from_partials(logmag, hz, search(hz))
    return refined, search(refined)


def test_the_stiffness_read_skipping_unheard_partials_and_unmoved_frames_is_the_plain_read_exactly():
    codec = HarmonicCodec(replace(STIFF, harmonic_ceiling_hz=2500.0))  # the upper partials of high notes unheard
    g = torch.Generator().manual_seed(0)
    waves = torch.stack([torch.cat([_stiff_tone(f0, 6e-4, BRIGHT, 0.3), torch.zeros(1600),  # a rest: f0 held
                                    0.01 * torch.randn(1600, generator=g)]) for f0 in (98.0, 311.1, 880.0)])
    logmag = codec.log_magnitude(waves)
    magnitude = logmag.exp()
    c = codec.config
    hz = track_pitch(magnitude, RATE, c.n_fft, c.low_hz, c.high_hz).hz
    refined, stretch = codec.read_stiffness(logmag, magnitude, hz)
    moved = refined != hz
    assert moved.any() and not moved.all()  # both paths of the read are taken
    assert not codec.audible(codec.harmonic_positions(refined, stretch)).all()
    plain_hz, plain_stretch = _dense_stiffness_read(codec, logmag, hz)
    assert torch.equal(refined, plain_hz) and torch.equal(stretch, plain_stretch)


def test_a_mallets_inharmonic_partials_do_not_pull_the_refined_f0():
    f0, t = 261.0, torch.arange(RATE // 2) / RATE  # partials at 1, 3.93 and 9.2 f0, as the corpus's marimba
    wave = 0.1 * sum(a * torch.sin(2 * math.pi * r * f0 * t) for r, a in ((1.0, 1.0), (3.93, 0.5), (9.2, 0.2)))
    codec = HarmonicCodec(replace(STIFF, n_fft=1024, stft_hop=256, harmonics=24, high_hz=1250.0))
    read = codec.analyse(codec.log_magnitude(wave[None]))
    assert (1200 * torch.log2(read.hz[0, 4:-4] / f0)).abs().max() < 10


@torch.no_grad()
def test_a_timbre_latent_std_fits_the_timbre_channels_to_it_and_decodes_the_same(fitted):
    quiet = train_harmonic_codec(replace(fitted.config, timbre_latent_std=0.125),
                                 HarmonicCodecTrainingConfig(pca_crops=24, crop_seconds=0.25), _pool())[0]
    assert (quiet.timbre_latent_scale, fitted.timbre_latent_scale) == (0.25, 1.0)
    wave = torch.cat([_tone(277.2, BRIGHT, 1.0), _tone(415.3, HOLLOW, 1.0)])[None]
    plain_z, quiet_z = fitted.encode(wave), quiet.encode(wave)
    structure = fitted.structure_channels
    assert torch.equal(quiet_z[:, :structure], plain_z[:, :structure])
    assert torch.allclose(quiet_z[:, structure:], plain_z[:, structure:] / 4, atol=1e-6)  # 0.125 against 0.5
    assert torch.allclose(quiet.rendered_frames(quiet_z)[0], fitted.rendered_frames(plain_z)[0], rtol=1e-5)
    with pytest.raises(ValueError, match="timbre_latent_std must be 0"):
        HarmonicCodec(replace(fitted.config, timbre_latent_std=-0.25))


@torch.no_grad()
def test_a_pitch_latent_std_scales_only_the_pitch_channels_and_decodes_the_same(fitted):
    wide = HarmonicCodec(replace(fitted.config, pitch_latent_std=2.0))
    wide.load_state_dict(fitted.state_dict())
    wave = torch.cat([_tone(277.2, BRIGHT, 1.0), _tone(415.3, HOLLOW, 1.0)])[None]
    narrow_z, wide_z = fitted.encode(wave), wide.encode(wave)
    stride = fitted.config.stride
    assert torch.allclose(wide_z[:, :stride], 4 * narrow_z[:, :stride], atol=1e-5)  # 2.0 against latent_std 0.5
    assert torch.equal(wide_z[:, stride:], narrow_z[:, stride:])
    assert torch.allclose(wide.rendered_frames(wide_z)[0], fitted.rendered_frames(narrow_z)[0], rtol=1e-5)
    frames = wide.structure_frames(wide_z)  # (B, 3, N): the same unscaled numbers from either scale
    assert frames.shape == (1, 3, stride * wide_z.shape[-1])
    assert torch.allclose(frames, fitted.structure_frames(narrow_z), atol=1e-5)
    assert torch.allclose(frames[0, 0, 10], torch.log2(torch.tensor(277.2 / 261.63)), atol=2e-3)  # the first tone
    structure = wide.structure_channels
    assert torch.allclose(wide.structure_latents(wide.stack_frames(frames)), wide_z[:, :structure], atol=1e-5)
    assert torch.equal(fitted.structure_latent_std(), torch.full((fitted.structure_channels,), 0.5))
    with pytest.raises(ValueError, match="pitch_latent_std must be 0"):
        HarmonicCodec(replace(fitted.config, pitch_latent_std=-1.0))


def test_held_rises_follow_the_peak_hold_recurrence_to_within_the_truncated_release():
    g = torch.Generator().manual_seed(0)
    rise = torch.rand(3, 200, generator=g) * (torch.rand(3, 200, generator=g) < 0.1)  # sparse rises
    held = held_rises(rise, 4.0)
    expected, previous = torch.zeros_like(rise), torch.zeros(3)
    for n in range(rise.shape[1]):  # o[n] = max(rise[n], o[n - 1] / e^(1/4)), unbounded
        previous = torch.maximum(rise[:, n], previous * math.exp(-1 / 4.0))
        expected[:, n] = previous
    assert (held - expected).abs().max() <= 0.01 * rise.max() + 1e-6
    spike = torch.zeros(1, 40)
    spike[0, 5] = 2.0
    assert torch.allclose(held_rises(spike, 4.0)[0, 5:14], 2.0 * torch.exp(-torch.arange(9) / 4.0))
    assert torch.equal(held_rises(spike, 4.0)[0, :5], torch.zeros(5))  # nothing held before the rise


@torch.no_grad()
def test_an_onset_hold_changes_only_the_onset_channels_and_not_what_is_rendered(fitted):
    held = HarmonicCodec(replace(fitted.config, onset_hold_s=0.05))
    held.load_state_dict(fitted.state_dict())
    wave = torch.cat([torch.zeros(2000), _tone(277.2, BRIGHT, 0.5), torch.zeros(2000)])[None]
    plain_z, held_z = fitted.encode(wave), held.encode(wave)
    stride = fitted.config.stride
    onsets = slice(stride, 2 * stride)
    assert torch.equal(torch.cat([held_z[:, :stride], held_z[:, 2 * stride:]], 1),
                       torch.cat([plain_z[:, :stride], plain_z[:, 2 * stride:]], 1))
    assert torch.equal(held.decode(held_z), fitted.decode(plain_z))
    plain_onset, held_onset = fitted.structure_frames(plain_z)[0, 1], held.structure_frames(held_z)[0, 1]
    release = 0.05 * RATE / fitted.config.stft_hop
    assert torch.allclose(held_onset, held_rises(plain_onset[None], release)[0], atol=1e-5)
    start = int(plain_onset.argmax())  # the tone's attack: held for the frames after it, where the plain rise is gone
    assert held_onset[start + 3] > 0.5 * held_onset[start] and plain_onset[start + 3] < 0.1 * plain_onset[start]
    assert not torch.equal(held_z[:, onsets], plain_z[:, onsets])
    with pytest.raises(ValueError, match="onset_hold_s must be 0"):
        HarmonicCodec(replace(fitted.config, onset_hold_s=-0.1))


@torch.no_grad()
def test_a_saturated_onset_is_the_rise_bounded_below_one_and_changes_nothing_else(fitted):
    saturated = HarmonicCodec(replace(fitted.config, onset_saturation=0.5))
    saturated.load_state_dict(fitted.state_dict())
    wave = torch.cat([torch.zeros(2000), _tone(277.2, BRIGHT, 0.5), torch.zeros(2000)])[None]
    plain, bounded = fitted.analyse(fitted.log_magnitude(wave)), saturated.analyse(saturated.log_magnitude(wave))
    assert torch.allclose(bounded.onset, 1 - torch.exp(-plain.onset / 0.5), atol=1e-6)
    assert float(plain.onset.max()) > 3.0 and float(bounded.onset.max()) < 1.0  # an attack from silence: many nats
    assert torch.equal(bounded.hz, plain.hz) and torch.equal(bounded.amplitudes, plain.amplitudes)
    assert torch.equal(saturated.decode(saturated.encode(wave)), fitted.decode(fitted.encode(wave)))
    with pytest.raises(ValueError, match="onset_saturation must be 0"):
        HarmonicCodec(replace(fitted.config, onset_saturation=-1.0))


@torch.no_grad()
def test_the_level_directions_move_each_frames_level_feature_by_exactly_the_step_and_the_rest_least(fitted):
    z = fitted.encode(_tone(300.0, BRIGHT, 0.5)[None])
    by = torch.linspace(-2.0, 1.5, z.shape[-1] * TINY.stride)[None]
    moved = fitted.with_level_moved(z, by)
    before, after = fitted.rendered_frames(z), fitted.rendered_frames(moved)
    assert torch.allclose(after[1], before[1] + by, atol=1e-4)  # the level feature, frame by frame
    assert torch.equal(moved[:, : TINY.structure_channels], z[:, : TINY.structure_channels])
    q = fitted.level_directions()
    weight = fitted.dec_linear.weight[:, :, 0]
    others = lambda d: (weight[TINY.stride:] @ d[TINY.structure_channels:]).norm()  # noqa: E731
    for s in range(TINY.stride):  # no other direction with the same level step changes the rest less
        nudge = torch.randn(weight.shape[1], generator=torch.Generator().manual_seed(s))
        nudge = nudge - torch.linalg.pinv(weight[: TINY.stride]) @ (weight[: TINY.stride] @ nudge)  # level kept
        other = q[:, s].clone()
        other[TINY.structure_channels:] += 0.1 * nudge
        assert torch.allclose(weight[: TINY.stride] @ other[TINY.structure_channels:],
                              torch.eye(TINY.stride)[:, s], atol=1e-4)
        assert others(other) > others(q[:, s])


@torch.no_grad()
def test_holding_the_level_gives_the_guided_latents_the_conditional_ones_rendered_level(fitted):
    conditional = fitted.encode(_tone(300.0, BRIGHT, 0.5)[None])
    g = torch.Generator().manual_seed(1)
    guided = conditional.clone()
    guided[:, TINY.structure_channels:] += 0.3 * torch.randn(guided[:, TINY.structure_channels:].shape, generator=g)
    held = fitted.hold_level(guided, conditional)
    level, wanted = fitted.rendered_level, fitted.rendered_level(conditional)
    assert (level(guided) - wanted).abs().max() > 0.5
    assert (level(held) - wanted).abs().median() < 5e-3 and (level(held) - wanted).abs().max() < 0.05  # 0.4 dB
    assert (level(fitted.hold_level(guided, conditional, rounds=1)) - wanted).abs().max() > 1e-3  # one is not enough
    q = fitted.level_directions()
    steps = torch.linalg.lstsq(q, held[0] - guided[0]).solution
    assert torch.allclose(q @ steps, held[0] - guided[0], atol=1e-4)  # moved only along the level directions
