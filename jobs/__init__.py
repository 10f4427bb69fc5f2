"""Thin entry points, one verb each; the `timbre` console script lives in jobs.cli."""
