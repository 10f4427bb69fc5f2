"""Additive synthesis of one note: partials, excitation comb, formants, envelopes, vibrato and noise."""
import numpy as np

from timbre.corpus.instruments import Instrument, Range

SAMPLE_RATE = 16000  # the corpus rate: mono, 16 kHz, float32
MAX_PARTIALS = 60
PARTIAL_CEILING = 0.45  # partials at or above this fraction of the sample rate are not synthesised (noise only there)
DRAWBAR_HARMONICS = (1, 2, 3, 4, 6, 8)


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def _draw(rng: np.random.Generator, r: Range) -> float:
    lo, hi = r
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


def _partials(inst: Instrument, f0: float, velocity: float, rng, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Partial frequency ratios and amplitudes for one note."""
    if inst.drawbars:
        ratios = np.array(DRAWBAR_HARMONICS, float)
        amps = np.array([_draw(rng, r) for r in inst.drawbars]) + 1e-3
    elif inst.partials:
        ratios = np.array(inst.partials) * (1 + rng.normal(0, 0.004, len(inst.partials)))
        amps = np.arange(1, len(ratios) + 1, dtype=float) ** -_draw(rng, inst.tilt)
    else:
        h = np.arange(1, MAX_PARTIALS + 1, dtype=float)
        ratios = h * np.sqrt(1 + _draw(rng, inst.inharmonicity) * h**2)
        tilt = _draw(rng, inst.tilt) - inst.brightness_by_velocity * (velocity - 0.5)
        amps = h ** -max(tilt, 0.3)
        amps[1::2] *= _draw(rng, inst.even_gain)
        position = _draw(rng, inst.comb)
        if position > 0:
            amps *= np.abs(np.sin(np.pi * h * position)) + 0.05
    freqs = ratios * f0
    for centre_range, gain_db in inst.formants:
        octaves = np.log2(freqs / _draw(rng, centre_range))
        amps = amps * 10 ** (gain_db / 20 * np.exp(-0.5 * (octaves / 0.5) ** 2))
    audible = freqs < PARTIAL_CEILING * sample_rate
    return ratios[audible], amps[audible]


def _shaped_noise(rng, n: int, centre: float, sample_rate: int) -> np.ndarray:
    """White noise band-passed around `centre` (1.5 octaves wide, Gaussian in log-frequency), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    gain = np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / centre) / 1.5) ** 2)
    noise = np.fft.irfft(spectrum * gain, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def render_note(inst: Instrument, pitch: float, velocity: int, duration: float, rng: np.random.Generator,
                sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One note held for `duration` s, then released; float32 mono of length (duration + release) * rate."""
    f0, vel = midi_to_hz(pitch), velocity / 127
    release = _draw(rng, inst.release)
    n = int(round((duration + release) * sample_rate))
    t = np.arange(n) / sample_rate
    ratios, amps = _partials(inst, f0, vel, rng, sample_rate)
    amps = amps / np.sqrt(np.sum(amps**2) / 2)  # unit RMS for the steady tone

    depth = _draw(rng, inst.vibrato_depth) * np.minimum(t / 0.25, 1.0)  # vibrato fades in over 250 ms
    rate = _draw(rng, inst.vibrato_rate)
    wobble = 1 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * f0 * np.cumsum(wobble) / sample_rate

    attack = _draw(rng, inst.attack)
    onset_env = 0.5 - 0.5 * np.cos(np.pi * np.minimum(t / attack, 1.0))
    off = np.clip((t - duration) / release, 0.0, 1.0)
    release_env = 0.5 + 0.5 * np.cos(np.pi * off)
    decay = _draw(rng, inst.decay) + _draw(rng, inst.decay_per_partial) * np.arange(len(ratios))
    partial_env = np.exp(-np.outer(decay, t))
    phases = rng.uniform(0, 2 * np.pi, len(ratios))
    tone = np.einsum("h,ht,ht->t", amps, partial_env, np.sin(np.outer(ratios, phase) + phases[:, None]))

    noise_level, noise_decay = _draw(rng, inst.noise), _draw(rng, inst.noise_decay)
    if noise_level > 0:
        noise = _shaped_noise(rng, n, float(np.clip(4 * f0, 500, 6000)), sample_rate)
        noise_env = np.exp(-noise_decay * t) if noise_decay > 0 else np.ones(n)
        tone = tone + noise_level * noise_env * noise
    loudness = 0.12 * vel**1.5
    return (loudness * onset_env * release_env * tone).astype(np.float32)
