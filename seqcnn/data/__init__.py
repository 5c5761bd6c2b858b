"""Data stages: genome, regions, negatives, splits, sequence sets, the one-hot cache, targets.

No imports here: the workflow reads :data:`SPLITS` on a head node without numpy or torch.
"""

#: The three splits every dataset has, in this order.
SPLITS = ("train", "valid", "test")
