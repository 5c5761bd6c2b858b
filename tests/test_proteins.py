"""seqcnn.simulate.proteins: simulated secondary-structure proteins (helix and strand
periodicities)."""

import numpy as np

from seqcnn.simulate.proteins import KYTE_DOOLITTLE, simulate_secondary_structure


def _dominant_period(segments, min_len):
    power = np.zeros(257)
    for seg in segments:
        if len(seg) < min_len:
            continue
        h = np.array([KYTE_DOOLITTLE[a] for a in seg])
        power += np.abs(np.fft.rfft(h - h.mean(), n=512)) ** 2
    freqs = np.fft.rfftfreq(512)
    k = 1 + int(np.argmax(power[1:]))  # skip the zero frequency
    return 1.0 / freqs[k]


def _segments(table) -> dict[str, list[str]]:
    """The residues of every H, E and C segment of a simulated table, by class."""
    segments = {"H": [], "E": [], "C": []}
    for seq, ss in zip(table["sequence"], table["structure"], strict=True):
        start = 0
        for i in range(1, len(ss) + 1):
            if i == len(ss) or ss[i] != ss[start]:
                segments[ss[start]].append(seq[start:i])
                start = i
    return segments


def test_simulated_protein_periodicities():
    table = simulate_secondary_structure(150, np.random.default_rng(0))
    lengths = table["sequence"].str.len()
    assert lengths.min() >= 60 and lengths.max() <= 200 and lengths.nunique() > 50
    assert (table["sequence"].str.len() == table["structure"].str.len()).all()
    segments = _segments(table)
    assert all(len(v) > 50 for v in segments.values())
    assert abs(_dominant_period(segments["H"], 12) - 3.6) < 0.25
    assert abs(_dominant_period(segments["E"], 6) - 2.0) < 0.1
    # deterministic from the generator
    again = simulate_secondary_structure(150, np.random.default_rng(0))
    assert again.equals(table)


def test_shared_residues_leave_only_the_spacing_to_tell_strands_from_helices():
    """With shared_residues strands draw from the helix pools: the residue sets of H and E are
    the same, yet strands still alternate (period 2) and helices repeat every 3.6."""
    table = simulate_secondary_structure(150, np.random.default_rng(0), noise=0.0,
                                         shared_residues=True)
    own = simulate_secondary_structure(150, np.random.default_rng(0), noise=0.0)
    for t, same in ((table, True), (own, False)):
        segments = _segments(t)
        assert (set("".join(segments["H"])) == set("".join(segments["E"]))) is same
        assert abs(_dominant_period(segments["H"], 12) - 3.6) < 0.25
        assert abs(_dominant_period(segments["E"], 6) - 2.0) < 0.1
