"""Simulated variants: REF from the genome, each class doing what its TRUTH says (checked by
scoring the PWMs here, independently of the module), the VCF round trip, determinism, and a
genome that does not change with the variants."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pysam
import pytest

from seqcnn import jaspar
from seqcnn.data.fasta import read_fasta
from seqcnn.errors import ConfigError
from seqcnn.simulate import simulate
from seqcnn.simulate import variants as sv

PARAMS = {
    "chromosomes": 3, "chrom_length": 200_000, "shared_peaks": 10,
    "tasks": {"A": {"motifs": ["MA0139.2"], "peaks": 80},
              "B": {"motifs": ["MA0080.7"], "peaks": 80}},
    "variants": {"break": 20, "create": 12, "random": 30, "indel": 15, "max_indel": 6,
                 "regions": ["chr3"]},
}
COMP = str.maketrans("ACGT", "TGCA")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    files = simulate("genome", PARAMS, out, seed=4, key="simulations.t")
    genome = read_fasta(files["genome"])
    seqs = {r.id: r.sequence.upper() for r in genome.itertuples()}
    records = list(pysam.VariantFile(str(files["variants"])))
    return files, seqs, records


def _pwms() -> dict[str, np.ndarray]:
    return {m.matrix_id: m.probabilities() for m in jaspar.fetch(["MA0139.2", "MA0080.7"])}


def _score(site: str, pwm: np.ndarray) -> float:
    """Log-odds (bits) of a site read on the PWM's strand."""
    idx = ["ACGT".index(c) for c in site]
    return float(jaspar.log_odds(pwm)[idx, np.arange(len(idx))].sum())


def _best_over(seq: str, pos0: int, pwm: np.ndarray) -> float:
    """Best log-odds of the windows (either strand) that cover ``pos0``."""
    w = pwm.shape[1]
    best = -np.inf
    for s in range(max(0, pos0 - w + 1), min(pos0, len(seq) - w) + 1):
        site = seq[s:s + w]
        if "N" in site:
            continue
        best = max(best, _score(site, pwm), _score(site.translate(COMP)[::-1], pwm))
    return best


def test_records_on_test_regions_with_ref_from_the_genome(sim):
    files, seqs, records = sim
    assert {r.chrom for r in records} == {"chr3"}
    for r in records:
        assert seqs[r.chrom][r.start:r.stop] == r.ref, r.id
    counts = pd.Series([r.info["TRUTH"] for r in records]).value_counts().to_dict()
    assert counts == {"break": 20, "create": 12, "random": 30, "indel": 15}
    assert [r.pos for r in records] == sorted(r.pos for r in records)
    assert len({r.id for r in records}) == len(records)
    # one variant per position, and indels' REF spans overlap no other variant
    spans = sorted((r.start, r.stop) for r in records)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_vcf_header_and_info_round_trip(sim):
    files, seqs, records = sim
    vcf = pysam.VariantFile(str(files["variants"]))
    assert dict(vcf.header.contigs.items()).keys() == seqs.keys()
    assert {c: vcf.header.contigs[c].length for c in seqs} == {c: 200_000 for c in seqs}
    assert set(sv.INFO) <= set(vcf.header.info)
    assert vcf.header.info["TRUTH"].type == "String"
    assert vcf.header.info["LOD_REF"].type == "Float"
    for r in records:
        assert r.info["TRUTH"] in sv.CLASSES
        if r.info["TRUTH"] in ("random", "indel"):
            assert r.info["TASK"] == "." and r.info["MOTIF"] == "."
            assert "LOD_REF" not in r.info
        else:
            assert r.info["TASK"] in ("A", "B") and r.info["MOTIF"] in ("MA0139.2", "MA0080.7")
    # bgzipped and indexed: a region query returns exactly the records there
    assert files["variants_index"].exists()
    inside = [r.id for r in records if 50_000 <= r.start < 120_000]
    assert [r.id for r in vcf.fetch("chr3", 50_000, 120_000)] == inside
    with open(files["variants"], "rb") as fh:  # BGZF: gzip with the BC extra field
        assert fh.read(4) == b"\x1f\x8b\x08\x04"


def test_break_snvs_lower_a_planted_instance_of_their_task(sim):
    files, seqs, records = sim
    truth = pd.read_csv(files["truth"], sep="\t")
    pwms = _pwms()
    breaks = [r for r in records if r.info["TRUTH"] == "break"]
    assert {r.info["TASK"] for r in breaks} == {"A", "B"}
    for r in breaks:
        hit = truth[(truth["chrom"] == r.chrom) & (truth["start"] <= r.start)
                    & (r.start < truth["end"])]
        assert len(hit) == 1
        site = hit.iloc[0]
        assert site["task"] == r.info["TASK"] and site["motif_id"] == r.info["MOTIF"]
        pwm = pwms[site["motif_id"]]
        ref = seqs[r.chrom][site["start"]:site["end"]]
        alt = ref[:r.start - site["start"]] + r.alts[0] + ref[r.start - site["start"] + 1:]
        if site["strand"] == "-":
            ref, alt = ref.translate(COMP)[::-1], alt.translate(COMP)[::-1]
        # the column of highest information content: consensus base → least likely base
        col = r.start - site["start"] if site["strand"] == "+" else site["end"] - 1 - r.start
        assert col == sv.information_column(pwm)
        assert "ACGT".index(ref[col]) == pwm[:, col].argmax()
        assert "ACGT".index(alt[col]) == pwm[:, col].argmin()
        before, after = _score(ref, pwm), _score(alt, pwm)
        drop = np.log2(pwm[:, col].max() / pwm[:, col].min())  # 12.1 (CTCF), 6.6 (SPI1)
        assert before - after == pytest.approx(drop) and drop > 6
        assert r.info["LOD_REF"] == pytest.approx(before, abs=1e-3)
        assert r.info["LOD_ALT"] == pytest.approx(after, abs=1e-3)
        assert r.info["SITE"]


def test_create_snvs_lift_a_window_over_the_threshold_outside_peaks(sim):
    files, seqs, records = sim
    pwms = _pwms()
    peaks = pd.read_csv(files["peaks"], sep="\t")
    creates = [r for r in records if r.info["TRUTH"] == "create"]
    assert len(creates) == 12
    for r in creates:
        pwm = pwms[r.info["MOTIF"]]
        thr = sv.create_threshold(pwm)
        seq = seqs[r.chrom]
        alt_seq = seq[:r.start] + r.alts[0] + seq[r.start + 1:]
        before, after = _best_over(seq, r.start, pwm), _best_over(alt_seq, r.start, pwm)
        assert before < thr <= after + 1e-9, (r.id, before, thr, after)
        assert r.info["LOD_REF"] == pytest.approx(before, abs=1e-3)
        assert r.info["LOD_ALT"] == pytest.approx(after, abs=1e-3)
        p = peaks[peaks["chrom"] == r.chrom]
        gap = np.maximum(p["start"] - r.start, r.start - p["end"] + 1)
        assert gap.min() >= sv.PEAK_MARGIN


def test_random_snvs_and_indels(sim):
    files, seqs, records = sim
    for r in records:
        if r.info["TRUTH"] == "random":
            assert len(r.ref) == len(r.alts[0]) == 1 and r.ref != r.alts[0]
        if r.info["TRUTH"] == "indel":
            ref, alt = r.ref, r.alts[0]
            assert ref[0] == alt[0] and 1 <= abs(len(ref) - len(alt)) <= 6
            assert min(len(ref), len(alt)) == 1
    indels = [r for r in records if r.info["TRUTH"] == "indel"]
    assert {len(r.ref) > 1 for r in indels} == {True, False}  # deletions and insertions


def test_same_seed_same_bytes_and_the_genome_does_not_depend_on_variants(sim, tmp_path):
    files, _, _ = sim
    again = simulate("genome", PARAMS, tmp_path / "again", seed=4)
    for name in files:
        assert again[name].read_bytes() == files[name].read_bytes(), name
    none = {**PARAMS, "variants": {"break": 0, "create": 0, "random": 0, "indel": 0}}
    bare = simulate("genome", none, tmp_path / "bare", seed=4)
    for name in ("genome", "peaks", "truth", "gaps"):
        assert bare[name].read_bytes() == files[name].read_bytes(), name
    with gzip.open(bare["variants"], "rt") as fh:
        assert not [line for line in fh if not line.startswith("#")]
    other = simulate("genome", PARAMS, tmp_path / "other", seed=5)
    assert other["variants"].read_bytes() != files["variants"].read_bytes()


def test_create_candidates_find_a_consensus_one_substitution_away():
    pwm = _pwms()["MA0139.2"]  # CTCF: column 7 alone spans 12.1 bits, more than max - thr
    j = sv.information_column(pwm)
    consensus = pwm.argmax(axis=0).astype(np.uint8)
    near = consensus.copy()
    near[j] = pwm[:, j].argmin()
    thr = sv.create_threshold(pwm)
    lo = jaspar.log_odds(pwm)
    near_score = float(lo[near, np.arange(len(near))].sum())
    assert near_score < thr < float(lo.max(axis=0).sum())  # one SNV away from a strong site
    c = np.full(200, 0, dtype=np.uint8)  # poly-A background: no window near the threshold
    c[100:100 + len(near)] = near
    found = sv.create_candidates(c, np.ones(200, dtype=bool), pwm)
    assert found["pos0"].tolist() == [100 + j]
    assert int(found["alt"].iloc[0]) == int(consensus[j])
    assert found["lod_alt"].iloc[0] == pytest.approx(lo.max(axis=0).sum())
    # the same window on the other strand: found at the mirrored position, alt complemented
    rc = (3 - c)[::-1].copy()
    found = sv.create_candidates(rc, np.ones(200, dtype=bool), pwm)
    assert found["pos0"].tolist() == [199 - (100 + j)]
    assert int(found["alt"].iloc[0]) == 3 - int(consensus[j])
    # not where the window may not go
    allowed = np.ones(200, dtype=bool)
    allowed[105] = False
    assert sv.create_candidates(c, allowed, pwm).empty


def test_allocate_spreads_over_tasks_and_fills_from_the_others():
    assert sv.allocate(10, {"A": 3, "B": 20}) == {"A": 3, "B": 7}
    assert sv.allocate(5, {"A": 10, "B": 10}) == {"A": 3, "B": 2}
    assert sv.allocate(9, {"A": 2, "B": 2, "C": 2}) == {"A": 2, "B": 2, "C": 2}
    assert sv.allocate(0, {"A": 2}) == {"A": 0}


def test_short_of_places_writes_what_there_is(tmp_path):
    params = {**PARAMS, "variants": {"break": 10_000, "create": 0, "random": 5, "indel": 0,
                                     "regions": ["chr3:100001-110000"]}}
    files = simulate("genome", params, tmp_path, seed=4)
    records = list(pysam.VariantFile(str(files["variants"])))
    truth = pd.read_csv(files["truth"], sep="\t")
    inside = truth[(truth["chrom"] == "chr3") & (truth["start"] >= 100_000)
                   & (truth["end"] <= 110_000)]
    seq = read_fasta(files["genome"]).set_index("id").loc["chr3", "sequence"].upper()
    pwms, consensus = _pwms(), 0
    for site in inside.itertuples():  # breakable: the consensus base at the key column
        pwm = pwms[site.motif_id]
        text = seq[site.start:site.end]
        text = text if site.strand == "+" else text.translate(COMP)[::-1]
        col = sv.information_column(pwm)
        consensus += "ACGT".index(text[col]) == pwm[:, col].argmax()
    assert sum(r.info["TRUTH"] == "break" for r in records) == consensus > 0
    assert all(100_000 <= r.start and r.stop <= 110_000 for r in records)


@pytest.mark.parametrize("variants, match", [
    ({"brake": 3}, r"simulations\.t\.variants: unknown key\(s\) 'brake'.*allowed: break"),
    ({"indel": -1}, r"simulations\.t\.variants\.indel must be an integer >= 0"),
    ({"regions": ["chr9"]}, r"simulations\.t\.variants\.regions: test names chr9"),
    ({"regions": ["chr1:0-100"]}, r"simulations\.t\.variants\.regions.*1-based"),
])
def test_bad_variant_settings_name_the_key(tmp_path, variants, match):
    params = {**PARAMS, "variants": variants}
    with pytest.raises(ConfigError, match=match):
        simulate("genome", params, tmp_path, seed=1, key="simulations.t")
