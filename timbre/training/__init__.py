"""Training loops for the embedded default models: pure functions, progress through a callback."""
