"""Metrics, each pure; distributional ones return statistics that merge."""
