"""Evaluation: metrics, baselines a CNN has to beat, and their figures."""
