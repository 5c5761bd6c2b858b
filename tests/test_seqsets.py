import hashlib
import json

import numpy as np
import pytest

from conftest import fasta_file as _fasta
from conftest import write_text
from seqcnn.alphabet import decode, one_hot
from seqcnn.data.cache import IGNORE, load_split
from seqcnn.data.seqsets import (
    convert_nucleotides,
    detect_alphabet,
    find_duplicates,
    load_seqset,
    random_split,
    write_seqset_cache,
)
from seqcnn.errors import SeqSetError
from seqcnn.simulate.proteins import (
    simulate_secondary_structure,
    write_seqset_files,
)


def _tsv(path, header, rows, gz=False):
    text = "\t".join(header) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)
    return write_text(path, text, gz)


def _random_seqs(rng, n, letters="ACGT", lo=20, hi=60):
    chars = np.array(list(letters))
    return {f"s{i}": "".join(chars[rng.integers(len(chars), size=int(rng.integers(lo, hi + 1)))])
            for i in range(n)}


# --------------------------------------------------------------------------- reading


def test_bad_letter_names_file_record_and_position(tmp_path):
    fa = _fasta(tmp_path / "lib.fa", {"ok": "ACGTACGT", "bad1": "ACGTQCG", "bad2": "AZ"})
    _tsv(tmp_path / "y.tsv", ["id", "y"], [["ok", 1], ["bad1", 0], ["bad2", 1]])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, tmp_path / "y.tsv", alphabet="dna")
    msg = str(err.value)
    assert "lib.fa" in msg and "'bad1'" in msg and "'Q'" in msg and "position 5" in msg
    assert "line 4" in msg and "2 record(s)" in msg and "'bad2'" in msg
    # 'N' is an accepted unknown for DNA, 'X' is not; 'X' is for protein
    fa2 = _fasta(tmp_path / "p.fa", {"p1": "MKVLAXW", "p2": "MKJLA"})
    _tsv(tmp_path / "p.tsv", ["id", "y"], [["p1", 1], ["p2", 0]])
    with pytest.raises(SeqSetError, match=r"p\.fa: record 'p2'.*'J' at position 3"):
        load_seqset(fa2, tmp_path / "p.tsv", alphabet="protein")


def test_ids_without_labels_and_labels_without_sequences(tmp_path):
    fa = _fasta(tmp_path / "seqs.fa", {f"s{i}": "ACGT" for i in range(10)})
    rows = [[f"s{i}", 1] for i in range(3, 10)] + [["ghost1", 0], ["ghost2", 1]]
    _tsv(tmp_path / "labels.tsv", ["id", "y"], rows)
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, tmp_path / "labels.tsv")
    msg = str(err.value)
    assert "3 sequence id(s) in" in msg and "'s0', 's1', 's2'" in msg and "seqs.fa" in msg
    assert "2 id(s) in" in msg and "'ghost1', 'ghost2'" in msg and "labels.tsv" in msg


@pytest.mark.parametrize(
    "header, rows, kwargs, pattern",
    [
        (["id", "y"], [["a", 1], ["a", 0], ["b", 1]], {},
         r"y\.tsv: duplicate id 'a' \(lines 2, 3\)"),
        (["name", "y"], [["a", 1], ["b", 0]], {}, r"y\.tsv, line 1: no 'id' column"),
        (["id", "y"], [["a", 1], ["b", ""]], {},
         r"y\.tsv: 1 row\(s\) have no value in label column 'y'.*'b' \(line 3\)"),
        (["id", "y", "split"], [["a", 1, "train"], ["b", 0, "tst"]], {},
         r"y\.tsv, line 3 \(id 'b'\): split 'tst' is not one of"),
        (["id", "y"], [["a", 1], ["b", 0]], {"label_columns": ["z"]}, r"y\.tsv: no column.*'z'"),
        (["id", "y", "split", "group"], [["a", 1, "train", "g"], ["b", 0, "test", "g"]], {},
         r"y\.tsv: 1 'group' value\(s\) have members in several splits: 'g'"),
    ],
)
def test_label_file_errors(tmp_path, header, rows, kwargs, pattern):
    fa = _fasta(tmp_path / "x.fa", {"a": "ACGT", "b": "ACGA"})
    _tsv(tmp_path / "y.tsv", header, rows)
    with pytest.raises(SeqSetError, match=pattern):
        load_seqset(fa, tmp_path / "y.tsv", **kwargs)


def test_per_position_label_length_mismatch(tmp_path):
    fa = _fasta(tmp_path / "prot.fa", {"p1": "MKVLAAG", "p2": "MKVLA"})
    _tsv(tmp_path / "ss.tsv", ["id", "ss"], [["p1", "CHHHHHC"], ["p2", "CHHC"]])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, tmp_path / "ss.tsv", position_label="ss")
    msg = str(err.value)
    assert "ss.tsv" in msg and "'p2'" in msg and "line 3" in msg
    assert "4 character(s)" in msg and "has 5" in msg
    _tsv(tmp_path / "ss2.tsv", ["id", "ss"], [["p1", "CHHHHHC"], ["p2", "CHXHC"]])
    with pytest.raises(SeqSetError, match=r"'p2'.*'X' at position 3"):
        load_seqset(fa, tmp_path / "ss2.tsv", position_label="ss", position_classes="HEC")


def test_alphabet_auto_detection(tmp_path):
    assert detect_alphabet(["ACGTN", "acgt"])["alphabet"] == "dna"
    assert detect_alphabet(["ACGUN", "GGu"])["alphabet"] == "rna"
    assert detect_alphabet(["ACGTU", "MKVL"])["alphabet"] == "protein"
    got = detect_alphabet(["MKVLAAG"])
    assert got["alphabet"] == "protein" and got["observed"] == "AGKLMV"
    fa = _fasta(tmp_path / "r.fa", {"a": "ACGUUN", "b": "GGCA"})
    _tsv(tmp_path / "y.tsv", ["id", "y"], [["a", 1], ["b", 0]])
    s = load_seqset(fa, tmp_path / "y.tsv")
    assert s.alphabet == "rna"
    assert s.report["alphabet_detection"] == {
        "alphabet": "rna", "observed": "ACGNU", "rule": "only A, C, G, U (and N)",
        "detected": True}


def test_multiclass_and_binary_codes(tmp_path):
    fa = _fasta(tmp_path / "x.fa", {f"s{i}": "ACGT" * (i + 1) for i in range(6)})
    rows = [[f"s{i}", b, c, k] for i, (b, c, k) in enumerate(
        zip([0, 1, 1, 0, 1, 0], ["low", "mid", "high", "mid", "low", "low"],
            [0, 2, 1, 2, 0, 0], strict=True))]
    _tsv(tmp_path / "y.tsv", ["id", "bound", "level", "k"], rows)
    s = load_seqset(fa, tmp_path / "y.tsv")
    assert s.tasks == ["bound", "level", "k"]
    assert s.kinds == {"bound": "binary", "level": "multiclass", "k": "multiclass"}
    assert s.classes["level"] == ["high", "low", "mid"]
    assert s.classes["k"] == ["0", "1", "2"] and s.classes["bound"] == ["0", "1"]
    np.testing.assert_array_equal(s.labels[:, 1], [1, 2, 0, 2, 1, 1])
    np.testing.assert_array_equal(s.labels[:, 2], [0, 2, 1, 2, 0, 0])
    assert s.labels.dtype == np.uint8
    s1 = load_seqset(fa, tmp_path / "y.tsv", label_columns=["level"])
    assert s1.tasks == ["level"] and s1.labels.shape == (6, 1)


# --------------------------------------------------------------------------- inputs users get wrong


def _labelled(tmp_path, values, n_seqs=None, column="y"):
    """A DNA FASTA of len(values) records s0.. and a labels TSV with ``values`` in ``column``."""
    fa = _fasta(tmp_path / "x.fa", {f"s{i}": "ACGT" * (i % 5 + 1) for i in range(len(values))})
    lab = _tsv(tmp_path / "y.tsv", ["id", column], [[f"s{i}", v] for i, v in enumerate(values)])
    return fa, lab


def test_missing_labels_stop_the_run_naming_rows_and_fix(tmp_path):
    values = ["1", "", "0", "NA", "NaN", "1", "nan", "0", "null", "N/A", "1", "NA", "0"]
    fa, lab = _labelled(tmp_path, values)
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, lab)
    msg = str(err.value)
    assert "y.tsv" in msg and "7 row(s) have no value in label column 'y'" in msg
    # the first few ids with their line numbers (header is line 1), then the count
    assert "'s1' (line 3)" in msg and "'s3' (line 5)" in msg and "'s4' (line 6)" in msg
    assert "(+2 more)" in msg and "'s11'" not in msg
    assert "missing_labels: drop" in msg and "not a class" in msg


def test_missing_labels_drop_counts_in_report_and_manifest(tmp_path):
    values = ["1", "", "0", "NA", "1", "0", "nan", "1", "0", "1"]
    fa, lab = _labelled(tmp_path, values)
    s = load_seqset(fa, lab, missing_labels="drop")
    assert list(s.ids) == ["s0", "s2", "s4", "s5", "s7", "s8", "s9"]
    assert s.classes["y"] == ["0", "1"] and s.kinds["y"] == "binary"
    assert s.report["dropped"]["missing_labels"] == 3
    assert s.report["missing_labels"] == {
        "action": "drop", "records": 3, "columns": {"y": 3}, "examples": ["s1", "s3", "s6"]}
    assert any("3 record(s)" in w and "no label" in w for w in s.report["warnings"])
    manifest = write_seqset_cache(s, tmp_path / "cache")
    assert manifest["dropped"]["missing_labels"] == 3
    assert manifest["missing_labels"]["records"] == 3
    assert sum(manifest["counts"][sp]["n"] for sp in ("train", "valid", "test")) == 7
    with pytest.raises(ValueError, match="missing_labels must be one of error, drop"):
        load_seqset(fa, lab, missing_labels="keep")


def test_missing_per_position_label_is_missing_not_a_length_mismatch(tmp_path):
    fa = _fasta(tmp_path / "p.fa", {"p1": "MKVLAAG", "p2": "MKVLA", "p3": "MKV"})
    _tsv(tmp_path / "ss.tsv", ["id", "ss"], [["p1", "CHHHHHC"], ["p2", "NA"], ["p3", "CHC"]])
    with pytest.raises(SeqSetError, match=r"1 row\(s\) have no value in label column 'ss'"):
        load_seqset(fa, tmp_path / "ss.tsv", position_label="ss")
    s = load_seqset(fa, tmp_path / "ss.tsv", position_label="ss", missing_labels="drop")
    assert list(s.ids) == ["p1", "p3"] and s.report["dropped"]["missing_labels"] == 1


@pytest.mark.parametrize(
    "values, classes, kind, codes",
    [
        (["0.0", "1.0", "1", "0", "1.00"], ["0", "1"], "binary", [0, 1, 1, 0, 1]),
        (["True", "false", "TRUE", "False", "true"], ["0", "1"], "binary", [1, 0, 1, 0, 1]),
        (["0.0", "2.0", "1", "2"], ["0", "1", "2"], "multiclass", [0, 2, 1, 2]),
        (["-1", "1", "1", "-1"], ["-1", "1"], "multiclass", [0, 1, 1, 0]),
    ],
)
def test_integral_numbers_and_booleans_are_classes(tmp_path, values, classes, kind, codes):
    fa, lab = _labelled(tmp_path, values)
    s = load_seqset(fa, lab)
    assert s.classes["y"] == classes and s.kinds["y"] == kind
    np.testing.assert_array_equal(s.labels[:, 0], codes)


def test_non_integer_numbers_are_regression_not_hundreds_of_classes(tmp_path):
    rng = np.random.default_rng(0)
    values = [f"{v:.3f}" for v in rng.normal(size=300)]
    fa, lab = _labelled(tmp_path, values)
    s = load_seqset(fa, lab)  # label_type null: detected, with the evidence
    assert s.kinds == {"y": "regression"} and s.classes == {"y": []}
    assert s.labels.dtype == np.float32
    np.testing.assert_allclose(s.labels[:, 0], np.float32(values), rtol=0)
    det = s.report["label_type"]
    assert det["detected"] and det["label_type"] == "regression" and det["loss"] == "mse"
    assert det["evidence"]["y"]["non_integer"] == sum(not float(v).is_integer() for v in values)
    assert det["evidence"]["y"]["example"] == values[0] and "'y'" in det["message"]
    # asked for classes: the error says what, where and the fix
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, lab, label_type="multiclass")
    msg = str(err.value)
    assert "y.tsv" in msg and "label column 'y'" in msg and "not integers" in msg
    assert f"{values[0]!r}" in msg and "'s0' (line 2)" in msg
    assert "label_type: regression" in msg
    # mostly numbers, a few words among them: a regression column with bad values, not 300
    # text classes; the error names the first word's row
    fa, lab = _labelled(tmp_path, values[:-2] + ["n.d.", "high"])
    with pytest.raises(SeqSetError, match=r"2 value\(s\) are not finite numbers, e.g. 'n.d.' "
                       r"for .*'s298' \(line 300\)"):
        load_seqset(fa, lab)


def test_many_integer_classes_are_warned(tmp_path):
    values = [str(i % 40) for i in range(80)]
    fa, lab = _labelled(tmp_path, values)
    s = load_seqset(fa, lab)
    assert len(s.classes["y"]) == 40
    assert any("40 classes" in w and "regression" in w for w in s.report["warnings"])
    few = load_seqset(*_labelled(tmp_path, [str(i % 3) for i in range(30)]))
    assert not any("regression" in w for w in few.report["warnings"])


def test_mixed_u_and_t_under_auto_names_records_and_fix(tmp_path):
    recs = {f"r{i}": "ACGUACGU" for i in range(4)} | {f"d{i}": "ACGTTTGA" for i in range(3)}
    recs["both"] = "ACGUACGT"
    fa = _fasta(tmp_path / "mix.fa", recs)
    lab = _tsv(tmp_path / "y.tsv", ["id", "y"], [[k, i % 2] for i, k in enumerate(recs)])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, lab)
    msg = str(err.value)
    assert "mix.fa" in msg and "both U and T" in msg and "protein alphabet" not in msg
    assert "5 record(s) have U" in msg and "'r0' (line 1)" in msg
    assert "4 record(s) have T" in msg and "'d0' (line" in msg
    assert "alphabet: rna" in msg and "alphabet: dna" in msg
    with pytest.raises(SeqSetError, match="both U and T"):
        detect_alphabet(["ACGU", "ACGT"], ids=["a", "b"], path="f.fa")


def test_rna_reads_t_as_u_and_dna_reads_u_as_t_counted(tmp_path):
    recs = {"r0": "ACGUACGU", "r1": "GGUU", "d0": "ACGTttga", "d1": "TTTT"}
    fa = _fasta(tmp_path / "mix.fa", recs)
    lab = _tsv(tmp_path / "y.tsv", ["id", "y", "split"],
               [[k, i % 2, "train"] for i, k in enumerate(recs)])
    rna = load_seqset(fa, lab, alphabet="rna")
    assert rna.seqs[2] == "ACGUuuga" and rna.seqs[0] == "ACGUACGU"
    assert rna.report["converted"] == {"from": "T", "to": "U", "records": 2,
                                       "residues": 7, "examples": ["d0", "d1"]}
    assert any("read T as U in 2 record(s)" in w for w in rna.report["warnings"])
    write_seqset_cache(rna, tmp_path / "rna")
    train = load_split(tmp_path / "rna", "train")
    x, lengths = train.onehot, train.lengths
    assert decode(x[3, :, :lengths[3]], "rna") == "UUUU"
    dna = load_seqset(fa, lab, alphabet="dna")
    assert dna.seqs[1] == "GGTT" and dna.report["converted"]["records"] == 2
    assert convert_nucleotides(["MKTU"], ["p"], "protein") == (["MKTU"], None)


def test_dna_with_iupac_codes_is_not_called_protein(tmp_path):
    rng = np.random.default_rng(0)
    recs = _random_seqs(rng, 30)
    recs["amb1"] = "ACGTRACGTACGTACGT"
    recs["amb2"] = "ACGTACGYYACGTKACGT"
    fa = _fasta(tmp_path / "amb.fa", recs)
    lab = _tsv(tmp_path / "y.tsv", ["id", "y"], [[k, i % 2] for i, k in enumerate(recs)])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, lab)
    msg = str(err.value)
    assert "amb.fa" in msg and "nucleic acid" in msg and "K, R, Y" in msg
    assert "2 record(s)" in msg and "'amb1' (line" in msg and "'amb2' (line" in msg
    assert "with N" in msg and "alphabet: protein" in msg
    # a real protein set, or the same file declared protein, passes
    assert detect_alphabet(["MKVLAAGTRYW", "ACDEFGHIKL"])["alphabet"] == "protein"
    assert load_seqset(fa, lab, alphabet="protein").alphabet == "protein"


def _outlier_set(tmp_path, n=200, short=100, long=100_000):
    rng = np.random.default_rng(0)
    recs = _random_seqs(rng, n, lo=short - 10, hi=short)
    recs["giant"] = "ACGT" * (long // 4)
    fa = _fasta(tmp_path / "x.fa", recs, width=80)
    lab = _tsv(tmp_path / "y.tsv", ["id", "y"], [[k, i % 2] for i, k in enumerate(recs)])
    return fa, lab


def test_one_giant_sequence_warns_with_padding_cost_and_max_len(tmp_path):
    fa, lab = _outlier_set(tmp_path)
    s = load_seqset(fa, lab)
    out = s.report["length_outliers"]
    assert out["records"] == 1 and out["examples"] == ["giant"] and out["longest"] == 100_000
    assert out["p99"] <= 100 and out["suggested_max_len"] == 100 and out["factor"] == 4
    n = len(s)
    assert out["cache_bytes"] == n * 4 * 100_000 + n * 1 + n * 4
    assert out["cache_bytes_at_suggested"] == n * 4 * 100 + n * 1 + n * 4
    warning = [w for w in s.report["warnings"] if "giant" in w]
    assert len(warning) == 1
    assert "100000 residues" in warning[0] and "max_len: 100" in warning[0]
    assert "80.4 MB" in warning[0] and "0.1 MB" in warning[0] and "too_long" in warning[0]
    manifest = write_seqset_cache(s, tmp_path / "cache", chunk_size=64)
    assert manifest["length_outliers"]["suggested_max_len"] == 100
    # following the advice removes the warning and the cost
    capped = load_seqset(fa, lab, max_len=100)
    assert capped.report["length_outliers"] is None and capped.seq_len == 100
    assert not any("giant" in w for w in capped.report["warnings"])


def test_ordinary_length_spread_is_not_an_outlier(tmp_path):
    fa, lab = _outlier_set(tmp_path, n=50, short=100, long=350)
    s = load_seqset(fa, lab)
    assert s.report["length_outliers"] is None
    assert not any("max_len" in w for w in s.report["warnings"])


# --------------------------------------------------------------------------- cache


def test_per_position_round_trip_with_padding(tmp_path):
    table = simulate_secondary_structure(40, np.random.default_rng(1), min_len=20, max_len=50)
    fa, lab = write_seqset_files(table, tmp_path / "p.fa.gz", tmp_path / "p.tsv",
                                 label_columns=["structure"])
    s = load_seqset(fa, lab, position_label="structure", position_classes="HEC",
                    fractions={"train": 0.5, "valid": 0.25, "test": 0.25})
    manifest = write_seqset_cache(s, tmp_path / "cache", chunk_size=7)
    json.dumps(manifest)  # serialisable as is
    assert manifest["classes"] == {"structure": ["H", "E", "C"]}
    assert manifest["label_kind"] == "per_position"
    assert manifest["seq_len"] == s.seq_len == table["sequence"].str.len().max()
    by_id = table.set_index("id")
    for split in ("train", "valid", "test"):
        cached = load_split(tmp_path / "cache", split)
        x, y, lengths = cached.onehot, cached.labels, cached.lengths
        ids = (tmp_path / "cache" / f"{split}.ids.tsv").read_text().split("\n")[1:-1]
        assert x.shape == (len(ids), 20, s.seq_len) and y.shape == (len(ids), s.seq_len)
        assert lengths.dtype == np.int32 and y.dtype == np.uint8
        for i, line in enumerate(ids):
            name, n = line.split("\t")
            seq, ss = by_id.loc[name, "sequence"], by_id.loc[name, "structure"]
            assert int(n) == len(seq) == lengths[i]
            assert decode(x[i, :, :lengths[i]], "protein") == seq
            assert x[i, :, lengths[i]:].sum() == 0
            assert "".join("HEC"[c] for c in y[i, :lengths[i]]) == ss
            assert (y[i, lengths[i]:] == IGNORE).all()
        n_split = manifest["counts"][split]["n"]
        assert n_split == len(ids)
        for kind in ("onehot", "labels", "lengths"):
            path = tmp_path / "cache" / f"{split}.{kind}.npy"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert manifest["checksums"][f"{split}.{kind}.npy"]["sha256"] == digest


def test_max_len_crop_versus_drop_and_lengths(tmp_path):
    recs = {"a": "ACGTA", "b": "ACGTACGTAC", "c": "GGGGGGGGGGGG", "d": "TT"}
    fa = _fasta(tmp_path / "x.fa", recs)
    _tsv(tmp_path / "y.tsv", ["id", "y", "split"],
         [["a", 1, "train"], ["b", 0, "train"], ["c", 1, "train"], ["d", 0, "valid"]])
    crop = load_seqset(fa, tmp_path / "y.tsv", max_len=8, too_long="crop")
    assert crop.report["cropped"] == 2 and crop.report["dropped"]["too_long"] == 0
    assert crop.report["too_long"]["examples"] == ["b", "c"]
    write_seqset_cache(crop, tmp_path / "crop")
    train = load_split(tmp_path / "crop", "train")
    x, y, lengths = train.onehot, train.labels, train.lengths
    np.testing.assert_array_equal(lengths, [5, 8, 8])
    np.testing.assert_array_equal(x[1], one_hot("ACGTACGT"))
    np.testing.assert_array_equal(x[0, :, :5], one_hot("ACGTA"))
    assert x.shape == (3, 4, 8) and x[0, :, 5:].sum() == 0
    np.testing.assert_array_equal(y[:, 0], [1, 0, 1])

    drop = load_seqset(fa, tmp_path / "y.tsv", max_len=8, too_long="drop")
    assert drop.report["dropped"]["too_long"] == 2 and drop.report["cropped"] == 0
    assert list(drop.ids) == ["a", "d"] and drop.seq_len == 8
    m = write_seqset_cache(drop, tmp_path / "drop")
    assert m["counts"]["train"]["n"] == 1 and m["counts"]["valid"]["n"] == 1
    np.testing.assert_array_equal(load_split(tmp_path / "drop", "valid").lengths, [2])

    free = load_seqset(fa, tmp_path / "y.tsv")  # no cap: the dataset's longest, over splits
    assert free.seq_len == 12
    write_seqset_cache(free, tmp_path / "free")
    assert load_split(tmp_path / "free", "valid").onehot.shape == (1, 4, 12)


# --------------------------------------------------------------------------- splits


def test_group_split_keeps_groups_whole_and_is_seeded():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 8, size=150)
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    strata = rng.random(len(groups)) < 0.3
    a = random_split(len(groups), (0.8, 0.1, 0.1), seed=3, strata=strata, groups=groups)
    for g in np.unique(groups):
        assert len(set(a[groups == g])) == 1, g
    b = random_split(len(groups), (0.8, 0.1, 0.1), seed=3, strata=strata, groups=groups)
    c = random_split(len(groups), (0.8, 0.1, 0.1), seed=4, strata=strata, groups=groups)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    frac = np.array([(a == s).mean() for s in ("train", "valid", "test")])
    np.testing.assert_allclose(frac, [0.8, 0.1, 0.1], atol=0.03)


def test_group_split_through_files(tmp_path):
    table = simulate_secondary_structure(60, np.random.default_rng(2), min_len=20,
                                         max_len=30, family_size=4)
    fa, lab = write_seqset_files(table, tmp_path / "f.fa", tmp_path / "f.tsv")
    s = load_seqset(fa, lab, position_label="structure", seed=1)
    assert s.report["split"]["group_column"] == "group" and s.report["split"]["groups"] == 15
    fam = table.set_index("id").loc[s.ids, "group"].to_numpy()
    for g in np.unique(fam):
        assert len(set(s.split[fam == g])) == 1


def test_stratified_split_keeps_class_fractions():
    rng = np.random.default_rng(5)
    strata = rng.choice(4, size=3000, p=[0.6, 0.3, 0.08, 0.02])
    split = random_split(len(strata), {"train": 0.7, "valid": 0.15, "test": 0.15}, seed=0,
                         strata=strata)
    overall = np.bincount(strata, minlength=4) / len(strata)
    for s in ("train", "valid", "test"):
        share = np.bincount(strata[split == s], minlength=4) / (split == s).sum()
        np.testing.assert_allclose(share, overall, atol=0.01)
    np.testing.assert_allclose((split == "test").mean(), 0.15, atol=0.01)
    # 100 classes of 5: rounding per class would give valid/test nothing (5 * 0.15 < 1)
    small = np.repeat(np.arange(100), 5)
    split = random_split(len(small), (0.7, 0.15, 0.15), seed=0, strata=small)
    assert abs((split == "test").sum() - 75) <= 100 ** 0.5 * 2
    assert abs((split == "valid").sum() - 75) <= 100 ** 0.5 * 2


def test_identical_sequences_across_splits_are_reported_and_deduped(tmp_path):
    recs = {"a": "ACGTACGT", "b": "TTTTCCCC", "c": "acgtacgt", "d": "GGGGAAAA",
            "e": "TTTTCCCC", "f": "TTTTCCCC", "g": "CATCATCA"}
    fa = _fasta(tmp_path / "x.fa", recs)
    splits = ["train", "train", "test", "valid", "valid", "train", "test"]
    _tsv(tmp_path / "y.tsv", ["id", "y", "split"],
         [[k, i % 2, s] for i, (k, s) in enumerate(zip(recs, splits, strict=True))])
    s = load_seqset(fa, tmp_path / "y.tsv")
    dup = s.report["duplicates"]
    assert dup["across_splits"]["sequences"] == 2 and dup["across_splits"]["records"] == 5
    assert dup["across_splits"]["examples"][0] == ["a (train)", "c (test)"]
    assert dup["within_split"]["records"] == 1 and dup["dropped"] == 0
    assert len(s) == 7 and any("more than one split" in w for w in s.report["warnings"])
    across = load_seqset(fa, tmp_path / "y.tsv", dedupe="across")
    assert list(across.ids) == ["a", "b", "d", "f", "g"]
    assert across.report["dropped"]["duplicates"] == 2
    everything = load_seqset(fa, tmp_path / "y.tsv", dedupe="all")
    assert list(everything.ids) == ["a", "b", "d", "g"]
    none = find_duplicates(["x", "y"], ["AC", "AG"], np.array(["train", "test"]))
    assert none["across_splits"]["sequences"] == 0
