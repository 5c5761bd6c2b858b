import numpy as np
import pandas as pd
import pytest

from seqcnn import jaspar
from seqcnn.data.fasta import write_fasta
from seqcnn.errors import ConfigError, InputError
from seqcnn.simulate import genome as simulate
from seqcnn.simulate import kinds, outputs, write_task_peaks
from seqcnn.simulate import simulate as run


def _motifs():
    a, b = jaspar.fetch(["MA0139.2", "MA0080.7"])
    return {"A": [(a.matrix_id, a.name, a.probabilities())],
            "B": [(b.matrix_id, b.name, b.probabilities())]}, {"A": a, "B": b}


def _log_odds(seq: str, pwm: np.ndarray) -> float:
    idx = ["ACGT".index(c) for c in seq.upper()]
    return float(np.log2(pwm[idx, np.arange(len(idx))] / 0.25).sum())


def test_simulation_is_deterministic_and_truthful(tmp_path):
    motifs, raw = _motifs()
    kw = dict(n_peaks={"A": 60, "B": 60}, shared_peaks=20, n_chroms=3, chrom_length=200_000)
    g1, p1, t1 = simulate.simulate_dataset(motifs, seed=5, **kw)
    g2, p2, t2 = simulate.simulate_dataset(motifs, seed=5, **kw)
    g3, _, _ = simulate.simulate_dataset(motifs, seed=6, **kw)
    assert all(np.array_equal(g1.chroms[c], g2.chroms[c]) for c in g1.chroms)
    assert p1.equals(p2) and t1.equals(t2)
    assert not np.array_equal(g1.chroms["chr1"], g3.chroms["chr1"])

    seq = {c: s.tobytes().decode() for c, s in g1.chroms.items()}
    assert all("N" * 1000 in s for s in seq.values())  # gaps
    assert any(any(ch.islower() for ch in s) for s in seq.values())  # soft-masked repeats
    # planted instances (read on their strand) score far above background windows
    rng = np.random.default_rng(0)
    for task in ("A", "B"):
        pwm = raw[task].probabilities()
        sites = []
        for row in t1[t1["task"] == task].itertuples():
            site = seq[row.chrom][row.start:row.end]
            if row.strand == "-":
                site = site.translate(str.maketrans("ACGTacgt", "TGCAtgca"))[::-1]
            sites.append(_log_odds(site, pwm))
        bg = []
        while len(bg) < 2000:
            s = int(rng.integers(0, 190_000))
            w = seq["chr1"][s:s + pwm.shape[1]]
            if "N" not in w.upper():
                bg.append(_log_odds(w, pwm))
        assert np.mean(np.array(sites) > np.quantile(bg, 0.99)) > 0.9, task
    # shared peaks appear in both tasks' files with the same summit; tasks overlap partly
    real = p1[~p1["name"].str.startswith("edge_")]
    summits = real.assign(s=real["start"] + real["summit"]).groupby("name")["task"].nunique()
    assert (summits == 2).sum() == 20 and (summits == 1).sum() == 120
    # every real peak has at least one instance of its task's motif near the summit
    for peak in real.itertuples():
        hits = t1[(t1["peak"] == peak.name) & (t1["task"] == peak.task)]
        assert len(hits) >= 1
        assert (abs(hits["start"] - (peak.start + peak.summit)) < 100).all()


def test_written_files_are_byte_identical(tmp_path):
    motifs, _ = _motifs()
    for k in (1, 2):
        g, p, _ = simulate.simulate_dataset(motifs, {"A": 10, "B": 10}, 2, n_chroms=2,
                                            chrom_length=50_000, seed=1)
        write_fasta(tmp_path / f"g{k}.fa", g.chroms)
        simulate.write_narrowpeak(p[p["task"] == "A"], tmp_path / f"p{k}.narrowPeak.gz")
    assert (tmp_path / "g1.fa").read_bytes() == (tmp_path / "g2.fa").read_bytes()
    assert (tmp_path / "p1.narrowPeak.gz").read_bytes() == \
        (tmp_path / "p2.narrowPeak.gz").read_bytes()


def test_simulate_genome_kind_writes_what_the_library_builds(tmp_path):
    """The one entry point: the genome kind's files are those of simulate_dataset with the
    same parameters and seed, and the outputs listed for the kind."""
    motifs, _ = _motifs()
    params = {"chromosomes": 2, "chrom_length": 50_000, "shared_peaks": 2,
              "tasks": {"A": {"motifs": ["MA0139.2"], "peaks": 10},
                        "B": {"motifs": ["MA0080.7"], "peaks": 10}},
              "variants": {"regions": ["chr2"]}}
    files = run("genome", params, tmp_path / "sim", seed=1)
    assert {k: p.name for k, p in files.items()} == outputs("genome")
    g, p, t = simulate.simulate_dataset(motifs, {"A": 10, "B": 10}, 2, n_chroms=2,
                                        chrom_length=50_000, seed=1)
    write_fasta(tmp_path / "g.fa", g.chroms)
    assert files["genome"].read_bytes() == (tmp_path / "g.fa").read_bytes()
    written = pd.read_csv(files["peaks"], sep="\t", dtype={"chrom": str})
    assert written.equals(p.reset_index(drop=True))
    assert pd.read_csv(files["truth"], sep="\t").equals(t)
    n = write_task_peaks(files["peaks"], "B", tmp_path / "B.narrowPeak.gz")
    assert n == (p["task"] == "B").sum()


def test_write_task_peaks_names_the_missing_task(tmp_path):
    table = tmp_path / "peaks.tsv.gz"
    pd.DataFrame({"task": ["A"], "chrom": ["chr1"], "start": [0], "end": [10]}).to_csv(
        table, sep="\t", index=False)
    with pytest.raises(InputError, match=r"peaks.tsv.gz: task 'C' has no peaks.*tasks there: A"):
        write_task_peaks(table, "C", tmp_path / "C.narrowPeak.gz")


@pytest.mark.parametrize("change, match", [
    ({"tasks": {}}, r"simulations\.x\.tasks must name at least one task"),
    ({"tasks": {"A": {"motifs": ["MA9999.9"]}}},
     r"simulations\.x\.tasks\.A\.motifs: cannot load \['MA9999\.9'\]"),
    ({"tasks": {"A": {"motif": ["MA0139.2"]}}},
     r"simulations\.x\.tasks\.A: unknown key\(s\) 'motif'; allowed: motifs, peaks"),
    ({"chromosome": 2}, r"simulations\.x: unknown key\(s\) 'chromosome'.*chromosomes"),
    ({"chrom_length": 1000}, r"simulations\.x\.chrom_length must be an integer >= 20000"),
    ({"sites_per_peak": [2, 1]}, r"simulations\.x\.sites_per_peak must be \[lo, hi\]"),
])
def test_genome_parameters_are_checked_naming_the_key(tmp_path, change, match):
    params = {"tasks": {"A": {"motifs": ["MA0139.2"], "peaks": 5}}, "chromosomes": 1,
              "chrom_length": 40_000, **change}
    with pytest.raises(ConfigError, match=match):
        run("genome", params, tmp_path, seed=1, key="simulations.x")


def test_unknown_kind_and_bad_seed_name_the_key(tmp_path):
    assert kinds()[0] == "genome" and "koo_eddy" in kinds()
    with pytest.raises(ConfigError, match=r"simulations\.x\.kind: unknown simulation kind "
                                          r"'genomes'; allowed: genome, koo_eddy"):
        run("genomes", {}, tmp_path, seed=1, key="simulations.x")
    with pytest.raises(ConfigError, match=r"simulations\.x\.seed must be an integer"):
        run("stride", {}, tmp_path, seed=1.5, key="simulations.x")
