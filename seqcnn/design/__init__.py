"""Generative sequence design: edit sequences until a trained model scores them as wanted.

- :mod:`~seqcnn.design.objective`: what is optimised (one task up, down or to a value;
  other tasks kept low), scored on both strands of DNA;
- :mod:`~seqcnn.design.starts`: starting sequences (random with a base composition, the
  test split's negatives, or a FASTA);
- :mod:`~seqcnn.design.evolution`: directed evolution, rounds of all single substitutions
  scored by in-silico mutagenesis (greedy or beam);
- :mod:`~seqcnn.design.gradient`: a straight-through relaxation of the one-hot input with
  an edit penalty (the idea of Ledidi);
- :mod:`~seqcnn.design.motifs`: greedy insertion of JASPAR motif consensus sequences at
  positions the model chooses;
- :mod:`~seqcnn.design.edits`: edit counting, the edit budget, edit tables and windows;
- :mod:`~seqcnn.design.check`: the check the design did not optimise against (a second
  model, FIMO with the true planted matrices);
- :mod:`~seqcnn.design.plots`: the score trajectory and the logos of edited windows.

Every method returns a :class:`~seqcnn.design.objective.Design`.
"""

from seqcnn.design.objective import Design, Objective

METHODS = ("evolution", "gradient", "motifs")

__all__ = ["METHODS", "Design", "Objective"]
