"""Training: torch datasets over the cache, batches, the training loop, its CLI, DDP, GPUs."""
