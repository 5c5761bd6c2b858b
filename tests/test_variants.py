"""Variant effects: VCF reading (seqcnn.data.variants), scoring and outputs
(seqcnn.interpret.variants), on tiny genomes and VCFs written here."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from torch import nn

from seqcnn.data.genome import Genome
from seqcnn.data.regions import ChromNameError
from seqcnn.data.variants import VariantChunk, VariantReader, allele_kind, is_symbolic
from seqcnn.errors import InputError
from seqcnn.interpret import variants as iv

SEQ_LEN = 40
C = SEQ_LEN // 2


def make_genome(tmp_path, n_chroms=2, length=300, seed=0) -> tuple[Genome, dict[str, str]]:
    rng = np.random.default_rng(seed)
    seqs = {f"chr{i + 1}": "".join(rng.choice(list("ACGT"), length)) for i in range(n_chroms)}
    path = tmp_path / "genome.fa"
    path.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    pysam.faidx(str(path))
    return Genome(path), seqs


def write_vcf(tmp_path, records, name="in.vcf", info_lines=(), compress=False) -> str:
    """records: (chrom, pos, id, ref, alt, info) tuples; plain text, or bgzip + tabix."""
    lines = ["##fileformat=VCFv4.2", *info_lines,
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for chrom, pos, vid, ref, alt, info in records:
        lines.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\tPASS\t{info}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    if compress:
        return pysam.tabix_index(str(path), preset="vcf", force=True)
    return str(path)


def read_all(reader: VariantReader) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    chunks = list(reader)
    table = pd.concat([c.table for c in chunks], ignore_index=True)
    return table, np.concatenate([c.ref for c in chunks]), np.concatenate([c.alt for c in chunks])


def decode(onehot: np.ndarray) -> str:
    return "".join("ACGT"[i] if onehot[:, j].any() else "N"
                   for j, i in enumerate(onehot.argmax(axis=0)))


class LinearPWM(nn.Module):
    """logit_t = sum over positions of conv(x, W_t): a PWM scanned and summed."""

    def __init__(self, weight: np.ndarray) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, weight.shape[0], weight.shape[2], bias=False)
        self.conv.weight.data = torch.tensor(weight, dtype=torch.float32)

    def forward(self, x):
        return self.conv(x).sum(dim=-1)


def test_linear_model_effect_is_the_weight_difference(tmp_path):
    genome, seqs = make_genome(tmp_path, 1, 200)
    rng = np.random.default_rng(1)
    w = rng.normal(size=(2, 4, 5))
    model = LinearPWM(w)
    s = w.sum(axis=2)  # a base well inside the window meets every column of the PWM once
    recs, expected = [], []
    for pos in (60, 90, 120, 150):
        ref = seqs["chr1"][pos - 1]
        alt = "ACGT"[("ACGT".index(ref) + 1 + pos % 3) % 4]
        a, b = "ACGT".index(ref), "ACGT".index(alt)
        # forward strand: s[b] - s[a]; reverse strand: complement letters (3 - index)
        expected.append(((s[:, b] - s[:, a]) + (s[:, 3 - b] - s[:, 3 - a])) / 2)
        recs.append(("chr1", pos, f"v{pos}", ref, alt, "."))
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN)
    (_, scores, effect), = list(iv.score_chunks(model, reader, ["t0", "t1"]))
    np.testing.assert_allclose(effect, np.array(expected), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores[["effect_t0", "effect_t1"]].to_numpy(), expected,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores["max_abs_effect"], np.abs(expected).max(axis=1),
                               rtol=1e-5, atol=1e-5)


def test_both_strands_averaged():
    """A model counting A's: A→C is −1 on the forward strand and 0 on the reverse (T→G),
    so the averaged effect is −0.5."""
    model = LinearPWM(np.array([[[1.0], [0.0], [0.0], [0.0]]]))
    ref = np.zeros((1, 4, 9), np.uint8)
    ref[0, 2, :] = 1  # GGGGGGGGG
    ref[0, :, 4] = (1, 0, 0, 0)  # GGGGAGGGG
    alt = ref.copy()
    alt[0, :, 4] = (0, 1, 0, 0)  # GGGGCGGGG
    logits = iv.strand_logits(model, np.concatenate([ref, alt]), torch.device("cpu"))
    assert logits[:, 0].tolist() == [0.5, 0.0]  # (1 + 0) / 2 and (0 + 0) / 2
    assert logits[1, 0] - logits[0, 0] == -0.5



def test_alleles_at_one_position_share_one_reference_pass(tmp_path):
    """A tri-allelic record and two SNVs: 3 distinct positions and 5 ALTs, so the model
    sees 2 × (3 + 5) = 16 windows (not 2 × 2 × 5 = 20), with the effects of scoring every
    allele's reference window."""
    genome, seqs = make_genome(tmp_path, 1, 200)
    g = seqs["chr1"]
    recs = [("chr1", 60, "a", g[59], "ACGT"[("ACGT".index(g[59]) + 1) % 4], "."),
            ("chr1", 100, "m", g[99], ",".join(b for b in "ACGT" if b != g[99]), "."),
            ("chr1", 140, "b", g[139], "ACGT"[("ACGT".index(g[139]) + 2) % 4], ".")]
    model = LinearPWM(np.random.default_rng(6).normal(size=(2, 4, 5)))
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(len(args[0])))
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN)
    (chunk, _, effect), = list(iv.score_chunks(model, reader, ["t0", "t1"]))
    assert sum(seen) == 16 and len(chunk) == 5
    full = iv.strand_logits(model, np.concatenate([chunk.ref, chunk.alt]), torch.device("cpu"))
    np.testing.assert_allclose(effect, full[5:] - full[:5], rtol=1e-5, atol=1e-6)
    first, inverse = iv.unique_positions(np.array([60, 100, 100, 100, 140]))
    assert inverse.tolist() == [0, 1, 1, 1, 2] and first[inverse].tolist() == [0, 1, 1, 1, 4]

def zoo_cases():
    """Every zoo configuration of the fast-ISM tests that fast ISM supports."""
    from test_attribution import FAST_CASES

    from seqcnn.interpret import fastism
    from seqcnn.models import build_model

    out = []
    for name, cfg, length, _ in FAST_CASES:
        torch.manual_seed(0)
        model = build_model(cfg, 4, 2, length)
        if fastism.supports(model):
            out.append(pytest.param(cfg, length, id=name))
    return out


@pytest.mark.parametrize("cfg,length", zoo_cases())
def test_fast_snv_path_equals_the_full_path(tmp_path, cfg, length):
    """Random weights (batch norm statistics too), SNVs (one at the chromosome start, so
    its window is padded with N; one tri-allelic record), an MNV and indels, chunks of 7
    alleles and reference passes of 3 windows: the fast path gives the full path's table
    and effects, and runs the model in full only on the 2 strands of the 4 non-SNV ALTs."""
    from seqcnn.models import build_model

    genome, seqs = make_genome(tmp_path, 1, 400, seed=7)
    g = seqs["chr1"]
    rng = np.random.default_rng(8)
    recs = [("chr1", 3, "edge", g[2], "ACGT"[("ACGT".index(g[2]) + 1) % 4], "."),
            ("chr1", 120, "ins", g[119], g[119] + "GAT", "."),
            ("chr1", 160, "multi", g[159], ",".join(b for b in "ACGT" if b != g[159]), "."),
            ("chr1", 200, "del", g[199:203], g[199], "."),
            ("chr1", 240, "mnv", g[239:241], "".join("ACGT"[("ACGT".index(b) + 1) % 4]
                                                    for b in g[239:241]), "."),
            ("chr1", 250, "ins2", g[249], g[249] + "C", ".")]
    for pos in sorted(rng.choice(np.arange(20, 390), 12, replace=False)):
        r = g[pos - 1]
        recs.append(("chr1", int(pos), f"s{pos}", r,
                     "ACGT"[("ACGT".index(r) + int(rng.integers(1, 4))) % 4], "."))
    recs.sort(key=lambda r: r[1])
    torch.manual_seed(0)
    model = build_model(cfg, 4, 2, length)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    path = write_vcf(tmp_path, recs)
    runs = {}
    for fast in (False, True):
        seen = []
        hook = model.register_forward_hook(lambda m, args, out, seen=seen: seen.append(
            len(args[0])))
        reader = VariantReader(path, genome, length, chunk_size=7)
        got = list(iv.score_chunks(model, reader, ["t0", "t1"], batch_size=6, fast=fast))
        hook.remove()
        runs[fast] = (pd.concat([t for _, t, _ in got], ignore_index=True),
                      np.concatenate([e for _, _, e in got]), sum(seen))
    (slow, slow_eff, _), (quick, quick_eff, n_full) = runs[False], runs[True]
    assert len(slow) == len(recs) + 2 and (slow["kind"] == "snv").sum() == 16
    assert np.abs(slow_eff).max() > 1e-3  # the variants change the output
    np.testing.assert_allclose(quick_eff, slow_eff, atol=1e-5, rtol=0)
    cols = iv.score_columns(["t0", "t1"])
    np.testing.assert_allclose(quick[cols[:-1]].to_numpy(float), slow[cols[:-1]].to_numpy(float),
                               atol=1e-5, rtol=0)
    assert n_full == 2 * 4  # ins, del, mnv, ins2: both strands; SNVs and references by fast ISM


def test_fast_snv_path_refuses_other_models():
    model = LinearPWM(np.ones((1, 4, 3)))
    chunk = VariantChunk(pd.DataFrame({"pos": [1]}), np.zeros((1, 4, 9), np.uint8),
                         np.zeros((1, 4, 9), np.uint8))
    with pytest.raises(ValueError, match="fast=False"):
        list(iv.score_chunks(model, [chunk], ["t"], fast=True))


def test_fast_path_chosen_by_receptive_field():
    """By default the fast path runs when the receptive field is at most half the window:
    a dilated CNN with field 33 at 200 bp, not the default one (field 145)."""
    from seqcnn.models import build_model

    small = build_model({"arch": "dilated", "filters": 4, "layers": 3}, 4, 1, 200)
    default = build_model({"arch": "dilated", "filters": 4}, 4, 1, 200)
    assert (small.receptive_field, default.receptive_field) == (33, 145)
    assert iv.fast_pays(small, 200) and iv.fast_pays(small, 66)
    assert not iv.fast_pays(small, 65) and not iv.fast_pays(default, 200)
    # the log says which path and why
    assert iv.snv_path(small, 200) == (True, "fast ISM for SNVs (receptive field 33 bp of a "
                                             "200 bp window); indels in full windows")
    fast, why = iv.snv_path(default, 200)
    assert not fast and "receptive field (145 bp) is more than half the 200 bp" in why
    plain = nn.Sequential(nn.Conv1d(4, 1, 5), nn.Flatten())  # not a zoo model
    assert iv.snv_path(plain, 200) == (False, "full windows: fast ISM does not support "
                                              "Sequential")


def test_snv_sites_finds_single_letter_changes():
    ref = np.zeros((4, 4, 6), np.uint8)
    ref[:, 0, :] = 1  # AAAAAA
    alt = ref.copy()
    alt[0, :, 2] = (0, 0, 1, 0)  # AAGAAA: an SNV at column 2, letter G
    alt[1, :, 2:4] = np.array([[0, 0], [1, 1], [0, 0], [0, 0]])  # two columns: an MNV
    alt[2, :, 5] = 0  # an N: not one letter
    single, col, letter = iv.snv_sites(ref, alt)  # row 3: no change
    assert single.tolist() == [True, False, False, False]
    assert (col[0], letter[0]) == (2, 2)


def test_ref_mismatch_dropped_and_counted_or_error_under_strict(tmp_path):
    genome, seqs = make_genome(tmp_path)
    good = seqs["chr1"][99]
    bad = "ACGT"[("ACGT".index(seqs["chr1"][149]) + 1) % 4]
    recs = [("chr1", 100, "ok", good, "A" if good != "A" else "C", "."),
            ("chr1", 150, "bad", bad, "A" if bad != "A" else "C", ".")]
    path = write_vcf(tmp_path, recs)
    reader = VariantReader(path, genome, SEQ_LEN)
    table, _, _ = read_all(reader)
    assert table["id"].tolist() == ["ok"]
    assert reader.counts["ref_mismatch"] == 1 and reader.counts["scored"] == 1
    with pytest.raises(InputError, match=r"record 2 \(chr1:150.*strict: false"):
        list(VariantReader(path, genome, SEQ_LEN, strict=True))


def test_multiallelic_split_and_number_a_info(tmp_path):
    genome, seqs = make_genome(tmp_path)
    ref = seqs["chr1"][99]
    alts = [b for b in "ACGT" if b != ref]
    info = ["##INFO=<ID=AF,Number=A,Type=Float,Description=\"freq\">"]
    path = write_vcf(tmp_path, [("chr1", 100, "m", ref, ",".join(alts), "AF=0.1,0.2,0.3")],
                     info_lines=info)
    reader = VariantReader(path, genome, SEQ_LEN)
    table, ref_w, alt_w = read_all(reader)
    assert table["alt"].tolist() == alts and table["allele"].tolist() == [1, 2, 3]
    assert reader.counts["records"] == 1 and reader.counts["alleles"] == 3
    for i, a in enumerate(alts):
        assert decode(alt_w[i])[C] == a and decode(ref_w[i])[C] == ref


def test_symbolic_alleles_skipped_and_counted(tmp_path):
    genome, seqs = make_genome(tmp_path)
    r = seqs["chr1"][99]
    snv = "A" if r != "A" else "C"
    recs = [("chr1", 100, "del", r, "<DEL>", "."), ("chr1", 100, "bnd", r, f"{r}]chr2:5]", "."),
            ("chr1", 100, "star", r, f"{snv},*", ".")]
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN)
    table, _, _ = read_all(reader)
    assert table["id"].tolist() == ["star"] and table["alt"].tolist() == [snv]
    assert reader.counts["symbolic"] == 3 and reader.counts["alleles"] == 4
    assert is_symbolic("<INS>") and is_symbolic(".A") and not is_symbolic("AT")


def test_too_long_and_unknown_chromosome_counted(tmp_path):
    genome, seqs = make_genome(tmp_path)
    recs = [("chr1", 100, "long", seqs["chr1"][99:110], seqs["chr1"][99], "."),
            ("chrX", 5, "x", "A", "C", "."),
            ("chr2", 10, "ok", seqs["chr2"][9], "N", ".")]
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN, max_indel_len=5)
    table, _, _ = read_all(reader)
    assert table["id"].tolist() == ["ok"]
    assert reader.counts["too_long"] == 1 and reader.counts["unknown_chrom"] == 1
    assert dict(reader.unknown_chroms) == {"chrX": 1}


def test_chromosome_name_mismatch_error_and_alias_fix(tmp_path):
    genome, seqs = make_genome(tmp_path)
    recs = [(c[3:], p, f"{c}:{p}", seqs[c][p - 1], "N", ".") for c in seqs for p in (50, 80)]
    path = write_vcf(tmp_path, recs)
    with pytest.raises(ChromNameError, match="add the 'chr' prefix"):
        list(VariantReader(path, genome, SEQ_LEN))
    reader = VariantReader(path, genome, SEQ_LEN, aliases={"1": "chr1", "2": "chr2"})
    table, _, _ = read_all(reader)
    assert table["chrom"].tolist() == ["chr1", "chr1", "chr2", "chr2"]


def test_indel_windows_share_centre_and_length(tmp_path):
    genome, seqs = make_genome(tmp_path, 1, 300)
    g = seqs["chr1"]
    p = 150  # 1-based POS; REF starts at index p - 1
    recs = [("chr1", p, "ins", g[p - 1], g[p - 1] + "TTT", "."),
            ("chr1", p, "del", g[p - 1:p + 4], g[p - 1], ".")]
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN)
    table, ref_w, alt_w = read_all(reader)
    start = p - 1 - C
    assert ref_w.shape == alt_w.shape == (2, 4, SEQ_LEN)
    for i in range(2):
        assert decode(ref_w[i]) == g[start:start + SEQ_LEN]
    ins = g[start:p - 1] + g[p - 1] + "TTT" + g[p:]
    dele = g[start:p - 1] + g[p - 1] + g[p + 4:]
    assert decode(alt_w[0]) == ins[:SEQ_LEN]  # far flank cut by 3
    assert decode(alt_w[1]) == dele[:SEQ_LEN]  # far flank extended by 4
    assert table["kind"].tolist() == ["insertion", "deletion"]
    assert allele_kind("AC", "GT") == "mnv" and allele_kind("A", "CT") == "complex"


def test_window_at_chromosome_start_padded_with_n(tmp_path):
    genome, seqs = make_genome(tmp_path, 1, 100)
    ref = seqs["chr1"][4]
    reader = VariantReader(write_vcf(tmp_path, [("chr1", 5, "e", ref, "N", ".")]), genome,
                           SEQ_LEN)
    _, ref_w, _ = read_all(reader)
    assert decode(ref_w[0]) == "N" * (C - 4) + seqs["chr1"][:SEQ_LEN - (C - 4)]
    assert reader.counts["padded"] == 1



def per_allele_reference(records, seqs, seq_len, max_indel_len):
    """The reader's output computed allele by allele with Python strings: the table rows,
    both windows as letters (N outside the chromosome) and the counts."""
    from collections import Counter

    from seqcnn.data.variants import drop_reason

    c, rows, ref_w, alt_w, counts = seq_len // 2, [], [], [], Counter()

    def letters(s, a, b):
        return "".join(s[j] if 0 <= j < len(s) else "N" for j in range(a, b)).upper()

    for i, (chrom, pos, vid, ref, alts, _) in enumerate(records):
        for k, alt in enumerate(alts.split(","), 1):
            alt = None if alt == "." else alt
            counts["alleles"] += 1
            why = drop_reason(ref, alt, max_indel_len)
            s, p = seqs.get(chrom), pos - 1
            if why is None and s is None:
                why = "unknown_chrom"
            elif why is None and p + len(ref) > len(s):
                why = "outside_chromosome"
            elif why is None and s[p:p + len(ref)].upper() != ref.upper():
                why = "ref_mismatch"
            if why is not None:
                counts[why] += 1
                continue
            r, a = ref.upper(), alt.upper()
            rows.append((chrom, pos, vid, r, a, allele_kind(r, a), i, k))
            ref_w.append(letters(s, p - c, p - c + seq_len))
            alt_w.append((letters(s, p - c, p) + a + letters(s, p + len(r), p + seq_len))
                         [:seq_len])
            counts["padded"] += p - c < 0 or p - c + seq_len + max(len(r), len(a)) > len(s)
    return rows, ref_w, alt_w, counts


def test_batched_reader_gives_the_per_allele_records_and_windows(tmp_path):
    """Every kind of record, chunks of 5 alleles, lowercase genome stretches, windows over
    both chromosome ends: the batched reader gives the rows, windows and counts of the
    allele-by-allele reference above."""
    genome, seqs = make_genome(tmp_path, 2, 120, seed=4)
    seqs["chr2"] = seqs["chr2"][:50] + seqs["chr2"][50:70].lower() + seqs["chr2"][70:]
    (tmp_path / "genome.fa").write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    genome = Genome(tmp_path / "genome.fa")
    rng = np.random.default_rng(5)
    recs = []
    for chrom in ("chr1", "chr2", "chrUn"):
        s = seqs.get(chrom, "A" * 120)
        for pos in sorted(rng.integers(1, 121, 40)):
            p, r = pos - 1, s[pos - 1]
            other = "ACGT"[("ACGT".index(r.upper()) + 1) % 4]
            n_ref = int(rng.integers(2, 9))
            alts = {0: other, 1: f"{other},{'ACGT'[('ACGT'.index(other) + 1) % 4]}",
                    2: r + "".join(rng.choice(list("ACGT"), int(rng.integers(1, 9)))),
                    3: "<DEL>", 4: "*", 5: ".", 6: r, 7: "R", 8: other + "T"}
            kind = int(rng.integers(0, 12))
            ref = s[p:p + n_ref] if kind in (9, 10) else s[p:p + 2] if kind == 8 else r
            alt = {9: ref[0], 10: ref[0] + "T", 11: "ACGT"[("ACGT".index(r.upper()) + 2) % 4]
                   }.get(kind) or alts[kind]
            if kind == 11:  # REF that is not the genome's letter
                ref, alt = alt, r.upper()
            recs.append((chrom, int(pos), f"{chrom}:{pos}", ref, alt, "."))
    recs.append(("chr1", 119, "past_end", seqs["chr1"][118] + "AAA", "A", "."))
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN, max_indel_len=6,
                           chunk_size=5)
    table, ref_w, alt_w = read_all(reader)
    rows, want_ref, want_alt, counts = per_allele_reference(recs, seqs, SEQ_LEN, 6)
    assert [tuple(r) for r in table.itertuples(index=False)] == rows
    assert [decode(w) for w in ref_w] == want_ref
    assert [decode(w) for w in alt_w] == want_alt
    assert {k: v for k, v in reader.counts.items() if v} == {
        **{k: v for k, v in counts.items() if v}, "records": len(recs),
        "scored": len(rows)}
    assert set(counts) >= {"symbolic", "no_alt", "non_acgt", "too_long", "unknown_chrom",
                           "outside_chromosome", "ref_mismatch", "padded"}
    assert set(table["kind"]) == {"snv", "mnv", "insertion", "deletion", "complex"}
    assert table["pos"].dtype == np.int64 and table["record"].dtype == np.int64

def test_vcf_output_round_trips_with_info(tmp_path):
    genome, seqs = make_genome(tmp_path)
    info = ['##INFO=<ID=TRUTH,Number=1,Type=String,Description="truth">',
            '##INFO=<ID=AF,Number=A,Type=Float,Description="freq">']
    recs = []
    for c in ("chr1", "chr2"):
        for p in (60, 120, 200):
            r = seqs[c][p - 1]
            a1, a2 = [b for b in "ACGT" if b != r][:2]
            recs.append((c, p, f"{c}_{p}", r, f"{a1},{a2}", "TRUTH=break;AF=0.25,0.5"))
    src = write_vcf(tmp_path, recs, "in.vcf", info, compress=True)
    model = LinearPWM(np.random.default_rng(2).normal(size=(2, 4, 3)))
    tasks = ["CTCF", "my-task"]
    tsv, vcf = tmp_path / "out.tsv.gz", str(tmp_path / "out.vcf.gz")
    reader = VariantReader(src, genome, SEQ_LEN, chunk_size=4)
    tw = iv.TsvWriter(tsv, ["chrom", "pos", "id", "ref", "alt", "kind",
                            *iv.score_columns(tasks)])
    vw = iv.VcfWriter(src, vcf, tasks, genome.sizes)
    for chunk, scores, _ in iv.score_chunks(model, reader, tasks):
        tw.write(scores)
        vw.write(chunk.table, scores)
    tw.close()
    vw.close()
    table = pd.read_csv(tsv, sep="\t")
    assert len(table) == 12
    with pysam.VariantFile(vcf) as out:
        assert {"SEQCNN_EFFECT_CTCF", "SEQCNN_EFFECT_my_task", "SEQCNN_MAX",
                "TRUTH"} <= set(out.header.info)
        got = list(out.fetch("chr2"))  # the tabix index answers a region query
        rows = list(out.fetch())
    assert len(got) == 6 and len(rows) == 12
    assert [r.alts[0] for r in rows] == table["alt"].tolist()
    assert [r.info["AF"][0] for r in rows] == [0.25, 0.5] * 6  # Number=A cut per allele
    assert all(r.info["TRUTH"] == "break" for r in rows)
    np.testing.assert_allclose([r.info["SEQCNN_EFFECT_my_task"] for r in rows],
                               table["effect_my-task"], rtol=1e-5, atol=1e-6)
    assert [r.info["SEQCNN_MAX_TASK"] for r in rows] == table["max_task"].tolist()
    with gzip.open(tsv, "rb") as fh:  # deterministic: no time stamp in the gzip header
        assert fh.read(1)
    assert open(tsv, "rb").read()[4:8] == b"\0\0\0\0"


def test_top_variants_streaming_and_explain(tmp_path):
    genome, seqs = make_genome(tmp_path, 1, 400)
    recs = []
    for p in range(30, 370, 7):
        r = seqs["chr1"][p - 1]
        recs.append(("chr1", p, f"v{p}", r, "ACGT"[("ACGT".index(r) + 1) % 4], "."))
    model = LinearPWM(np.random.default_rng(3).normal(size=(1, 4, 3)))
    reader = VariantReader(write_vcf(tmp_path, recs), genome, SEQ_LEN, chunk_size=5)
    top = iv.TopVariants(["t"], 3)
    every = []
    for chunk, scores, effect in iv.score_chunks(model, reader, ["t"]):
        top.update(chunk, scores, effect)
        every.append(scores)
    every = pd.concat(every, ignore_index=True)
    best = every.iloc[np.argsort(-every["effect_t"].abs().to_numpy(), kind="stable")[:3]]
    assert top.rows["t"]["id"].tolist() == best["id"].tolist()
    table, arrays = iv.explain(model, top, motif_db=None)
    assert table["rank"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(table["effect"], best["effect_t"], rtol=1e-5)
    assert arrays["t.diff"].shape == (3, 4, SEQ_LEN)
    # at the centre, a linear model's projected ISM difference is its forward-strand effect
    # s[alt] − s[ref] (the centring over letters cancels): ISM runs on the forward strand
    s = model.conv.weight.detach().numpy()[0].sum(axis=1)
    fwd = [s["ACGT".index(b)] - s["ACGT".index(a)]
           for a, b in zip(table["ref"], table["alt"], strict=True)]
    np.testing.assert_allclose(arrays["t.diff"][:, :, C].sum(axis=1), fwd, rtol=1e-5, atol=1e-6)


@pytest.mark.workflow
def test_score_variants_rule(tmp_path):
    """score_variants through Snakemake on the tiny dataset: a VCF with REF from the
    simulated genome, one REF mismatch, one symbolic allele, one multi-allelic record and an
    indel."""
    import json

    from test_workflow import TINY, run_snakemake

    work = tmp_path / "work"
    work.mkdir()
    config = json.loads(json.dumps(TINY))
    run_snakemake(work, config, "results/tiny/genome/genome.fa")
    genome = Genome(work / "results/tiny/genome/genome.fa")
    g = genome.fetch("chr5", 0, 20_000).upper()
    positions = [p for p in range(1000, 20_000, 1500) if g[p - 1] in "ACGT"]
    assert len(positions) > 8 and all(g[p - 1] in "ACGT" for p in (9100, 9200, 9300, 9400))
    recs = [("chr5", p, f"s{p}", g[p - 1], "ACGT"[("ACGT".index(g[p - 1]) + 1) % 4], "TASK=.")
            for p in positions]
    wrong = "ACGT"[("ACGT".index(g[9099]) + 2) % 4]
    recs += [("chr5", 9100, "bad", wrong, "A" if wrong != "A" else "C", "TASK=."),
             ("chr5", 9200, "sv", g[9199], "<DUP>", "TASK=."),
             ("chr5", 9300, "multi", g[9299], ",".join(b for b in "ACGT" if b != g[9299]),
              "TASK=."),
             ("chr5", 9400, "ins", g[9399], g[9399] + "GATTACA", "TASK=.")]
    recs.sort(key=lambda r: r[1])
    vcf = write_vcf(tmp_path, recs, "set1.vcf", compress=True, info_lines=[
        '##INFO=<ID=TASK,Number=1,Type=String,Description="task">'])
    config["datasets"]["tiny"]["variants"] = {"set1": vcf}
    config["datasets"]["tiny"]["variants_options"] = {"top_n": 3, "plot_n": 1}
    out = "results/tiny/small/variants"
    run_snakemake(work, config, f"{out}/set1.tsv.gz")
    table = pd.read_csv(work / out / "set1.tsv.gz", sep="\t")
    n_snv = len(positions)
    assert len(table) == n_snv + 3 + 1  # the SNVs, three ALTs of one record, the insertion
    assert {"effect_A", "effect_B", "ref_A", "alt_B", "max_abs_effect"} <= set(table)
    summary = json.loads((work / out / "set1.json").read_text())
    assert summary["dropped"]["ref_mismatch"] == 1 and summary["dropped"]["symbolic"] == 1
    assert summary["scored"] == len(table) and summary["records"] == n_snv + 4
    with pysam.VariantFile(str(work / out / "set1.vcf.gz")) as fh:
        rows = list(fh.fetch("chr5", 0, 20_000))
    np.testing.assert_allclose([r.info["SEQCNN_EFFECT_A"] for r in rows], table["effect_A"],
                               rtol=1e-4, atol=1e-5)
    top = pd.read_csv(work / out / "set1.top.tsv", sep="\t")
    assert top.groupby("task")["rank"].max().to_dict() == {"A": 3, "B": 3}
    log = (work / "results/logs/tiny/small/variants/set1.log").read_text()
    assert "1 symbolic" in log and "1 ref_mismatch" in log
