"""Analyses of a model bundle: channel mutual information, the timbre basis, the noise-level probe."""
