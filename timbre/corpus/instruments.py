"""Instrument definitions: parameter ranges that each note draws from, so notes of one instrument vary."""
from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class Instrument:
    """Synthesis parameters of one instrument; each Range is sampled uniformly per note."""

    name: str
    family: str  # plucked | struck | bowed | reed | flute | brass | organ
    partials: tuple[float, ...] | None = None  # fixed partial ratios (mallets); None = harmonic series
    tilt: Range = (1.0, 1.0)  # spectral slope: partial h has amplitude h^-tilt
    even_gain: Range = (1.0, 1.0)  # gain of even harmonics (clarinet-like when small)
    comb: Range = (0.0, 0.0)  # excitation position (pluck/hammer) as a fraction of the string; 0 = none
    formants: tuple[tuple[Range, float], ...] = ()  # (centre Hz range, gain dB) body resonances, 1-octave wide
    inharmonicity: Range = (0.0, 0.0)  # stiffness B: partial h at h f0 sqrt(1 + B h^2)
    attack: Range = (0.01, 0.01)  # seconds
    decay: Range = (0.0, 0.0)  # exponential decay rate of the fundamental, 1/s (0 = sustained)
    decay_per_partial: Range = (0.0, 0.0)  # extra decay rate per partial index, 1/s
    release: Range = (0.05, 0.05)  # seconds after note-off
    vibrato_rate: Range = (0.0, 0.0)  # Hz
    vibrato_depth: Range = (0.0, 0.0)  # fraction of f0
    noise: Range = (0.0, 0.0)  # breath/bow/hammer noise level relative to the tone
    noise_decay: Range = (0.0, 0.0)  # 1/s; 0 = noise sustained with the tone (breath, bow)
    brightness_by_velocity: float = 0.0  # tilt reduction at full velocity (brass gets brighter when loud)
    drawbars: tuple[Range, ...] = ()  # organ: gains of harmonics 1, 2, 3, 4, 6, 8


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("guitar", "plucked", tilt=(0.8, 1.2), comb=(0.12, 0.3), inharmonicity=(1e-5, 1e-4),
               attack=(0.002, 0.006), decay=(1.5, 3.0), decay_per_partial=(0.3, 0.8), release=(0.03, 0.08),
               formants=(((180, 260), 4.0),), noise=(0.02, 0.06), noise_decay=(40, 80)),
    Instrument("piano", "struck", tilt=(1.2, 1.8), comb=(0.08, 0.15), inharmonicity=(2e-4, 8e-4),
               attack=(0.001, 0.004), decay=(0.6, 1.5), decay_per_partial=(0.15, 0.4), release=(0.08, 0.15),
               noise=(0.03, 0.08), noise_decay=(60, 120)),
    Instrument("marimba", "struck", partials=(1.0, 3.93, 9.2), tilt=(0.5, 1.0), attack=(0.001, 0.003),
               decay=(3.0, 6.0), decay_per_partial=(3.0, 8.0), release=(0.03, 0.06), noise=(0.02, 0.05),
               noise_decay=(100, 200)),
    Instrument("violin", "bowed", tilt=(0.8, 1.2), formants=(((250, 320), 6.0), ((2400, 3200), 8.0)),
               attack=(0.05, 0.15), release=(0.05, 0.12), vibrato_rate=(5.0, 6.5), vibrato_depth=(0.003, 0.007),
               noise=(0.01, 0.04)),
    Instrument("viola", "bowed", tilt=(0.9, 1.35), formants=(((200, 280), 6.0), ((1800, 2600), 8.0)),
               attack=(0.06, 0.18), release=(0.05, 0.12), vibrato_rate=(4.5, 6.0), vibrato_depth=(0.003, 0.007),
               noise=(0.01, 0.05)),
    Instrument("clarinet", "reed", tilt=(0.8, 1.3), even_gain=(0.08, 0.45), formants=(((1200, 1800), 4.0),),
               attack=(0.03, 0.06), release=(0.04, 0.08), noise=(0.005, 0.02), vibrato_depth=(0.0, 0.001),
               vibrato_rate=(4.0, 5.0)),
    Instrument("oboe", "reed", tilt=(0.7, 1.1), even_gain=(0.35, 0.9), formants=(((1000, 1500), 8.0),),
               attack=(0.02, 0.05), release=(0.04, 0.08), noise=(0.005, 0.02), vibrato_depth=(0.001, 0.003),
               vibrato_rate=(4.5, 5.5)),
    Instrument("flute", "flute", tilt=(2.0, 3.0), even_gain=(0.6, 1.0), attack=(0.04, 0.08), release=(0.05, 0.1),
               vibrato_rate=(4.5, 5.5), vibrato_depth=(0.004, 0.01), noise=(0.05, 0.15)),
    Instrument("trumpet", "brass", tilt=(1.3, 1.8), formants=(((1100, 1500), 6.0),), attack=(0.02, 0.05),
               release=(0.04, 0.08), vibrato_rate=(5.0, 6.0), vibrato_depth=(0.0, 0.003), noise=(0.005, 0.02),
               brightness_by_velocity=0.8),
    Instrument("organ", "organ", attack=(0.005, 0.015), release=(0.01, 0.03),
               drawbars=((0.6, 1.0), (0.3, 0.9), (0.1, 0.6), (0.0, 0.5), (0.0, 0.3), (0.0, 0.3))),
)

INSTRUMENT_NAMES: tuple[str, ...] = tuple(i.name for i in INSTRUMENTS)
SIMILAR_PAIRS = (("violin", "viola"), ("clarinet", "oboe"))


def instrument(name: str) -> Instrument:
    """The instrument called `name`."""
    for inst in INSTRUMENTS:
        if inst.name == name:
            return inst
    raise KeyError(f"unknown instrument {name!r}; known: {', '.join(INSTRUMENT_NAMES)}")
