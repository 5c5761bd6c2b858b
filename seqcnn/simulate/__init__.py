"""Simulated datasets: genomes with planted motifs and labelled sequence sets."""
