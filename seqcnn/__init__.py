"""seqcnn: train CNNs on DNA, RNA and protein sequences and read what they learned."""

__version__ = "0.1.0"
