"""A deterministic, seeded synthetic instrument corpus in the spirit of NSynth: notes and melodic stems."""
