import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from seqcnn.alphabet import decode, one_hot_batch, one_hot_codes, reverse_complement_seq
from seqcnn.evaluate.baselines import (
    KmerBaseline,
    MotifScanBaseline,
    kmer_counts,
    kmer_lookup,
    kmer_names,
    motif_max_scores,
)
from seqcnn.jaspar import Motif, fetch, log_odds


def _random_onehot(n: int, length: int, rng: np.random.Generator, n_frac: float = 0.0
                   ) -> np.ndarray:
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    codes[rng.random((n, length)) < n_frac] = 255  # N
    return one_hot_codes(codes, 4)


def _slow_kmers(seqs: list[str], ks, canonical: bool) -> np.ndarray:
    names = kmer_names(ks, canonical)
    col = {(len(n), n): j for j, n in enumerate(names)}
    out = np.zeros((len(seqs), len(names)))
    for i, s in enumerate(seqs):
        for k in ks:
            for p in range(len(s) - k + 1):
                w = s[p:p + k]
                if "N" in w:
                    continue
                out[i, col[k, min(w, reverse_complement_seq(w)) if canonical else w]] += 1
    return out


def test_kmer_lookup_sizes_and_canonical_names():
    # canonical k-mers: 4**k / 2 for odd k, (4**k + 4**(k/2)) / 2 for even k (palindromes)
    assert [len(kmer_lookup(k)[1]) for k in range(1, 7)] == [2, 10, 32, 136, 512, 2080]
    assert len(kmer_names(range(1, 7))) == 2772
    index, names = kmer_lookup(3)
    assert names[:3] == ["AAA", "AAC", "AAG"] and all(n <= reverse_complement_seq(n)
                                                      for n in names)
    # AAC (code 1) and its reverse complement GTT (code 2*16 + 3*4 + 3 = 47) share a column
    assert index[1] == index[47] == 1
    assert kmer_lookup(2, canonical=False)[1][:5] == ["AA", "AC", "AG", "AT", "CA"]


@pytest.mark.parametrize("canonical", [True, False])
def test_kmer_counts_equal_slow_reference(canonical):
    rng = np.random.default_rng(0)
    X = _random_onehot(25, 40, rng, n_frac=0.06)
    X[0, :, 10:] = 0  # a long N run
    seqs = [decode(x) for x in X]
    ks = (1, 2, 3, 5)
    expected = _slow_kmers(seqs, ks, canonical)
    counts = kmer_counts(X, ks, canonical=canonical, normalize=False, chunk_size=7)
    assert counts.dtype == np.float32 and counts.shape == expected.shape
    np.testing.assert_array_equal(counts.toarray(), expected)
    freq = kmer_counts(X, ks, canonical=canonical, normalize=True).toarray()
    start = 0
    for k in ks:  # each k sums to 1 over the N-free windows
        w = len(kmer_names([k], canonical))
        total = expected[:, start:start + w].sum(axis=1, keepdims=True)
        np.testing.assert_allclose(freq[:, start:start + w], expected[:, start:start + w]
                                   / np.maximum(total, 1), rtol=1e-6)
        start += w


def _planted(n: int, length: int, site: str, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Random sequences; half carry ``site`` once, on a random strand, at a random place."""
    y = (np.arange(n) % 2).astype(np.uint8)
    rng.shuffle(y)
    seqs = []
    for label in y:
        s = "".join(rng.choice(list("ACGT"), length))
        if label:
            p = rng.integers(0, length - len(site))
            w = site if rng.random() < 0.5 else reverse_complement_seq(site)
            s = s[:p] + w + s[p + len(site):]
        seqs.append(s)
    return one_hot_batch(seqs), y[:, None]


def test_kmer_baseline_finds_planted_kmer_and_not_shuffled_labels():
    rng = np.random.default_rng(1)
    site = "GATTACAG"
    (Xtr, ytr), (Xva, yva), (Xte, yte) = (_planted(n, 100, site, rng) for n in (300, 150, 400))
    model = KmerBaseline(seed=0).fit(Xtr, ytr, Xva, yva, tasks=["site"])
    p = model.predict(Xte)
    assert p.shape == (400, 1) and ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(yte[:, 0], p[:, 0]) > 0.9
    top = np.array(model.feature_names())[np.argsort(-model.coefficients()[0])[:3]]
    assert any(t in site or reverse_complement_seq(t) in site for t in top if len(t) == 6)
    assert "site C=" in model.describe()
    shuffled = KmerBaseline(seed=0).fit(Xtr, rng.permutation(ytr), Xva, rng.permutation(yva))
    assert abs(roc_auc_score(yte[:, 0], shuffled.predict(Xte)[:, 0]) - 0.5) < 0.1


def test_motif_score_equals_hand_computed_log_odds():
    # PWM for "AG": column 0 A .7 (others .1), column 1 G .7 (others .1); uniform background
    probs = np.array([[.7, .1], [.1, .1], [.1, .7], [.1, .1]])
    M = log_odds(probs)
    np.testing.assert_allclose(M[[0, 1], [0, 0]], [np.log2(.7 / .25), np.log2(.1 / .25)])
    X = one_hot_batch(["CATC", "CTTC", "ANGN"])
    best = motif_max_scores(X, [M])[:, 0]
    fwd = motif_max_scores(X, [M], both_strands=False)[:, 0]
    # CATC: best window AT = log2(2.8) + log2(0.4); reverse strand GATG: AT or TG, the same
    # CTTC: reverse strand GAAG holds AG = 2 log2(2.8); forward CT/TT/TC = 2 log2(0.4)
    # ANGN: AN = log2(2.8) + 0 (N adds nothing), NG the same
    np.testing.assert_allclose(best, [np.log2(2.8 * .4), np.log2(2.8 * 2.8), np.log2(2.8)],
                               atol=1e-6)
    np.testing.assert_allclose(fwd, [np.log2(2.8 * .4), np.log2(.4 * .4), np.log2(2.8)],
                               atol=1e-6)


def test_motif_scores_equal_brute_force_for_mixed_widths():
    rng = np.random.default_rng(2)
    X = _random_onehot(9, 30, rng, n_frac=0.05)
    mats = [rng.normal(size=(4, w)) for w in (5, 3, 5, 8)]
    got = motif_max_scores(X, mats, batch_size=4)
    for i in range(len(X)):
        x = X[i].astype(float)
        for m, M in enumerate(mats):
            w = M.shape[1]
            windows = [max((x[:, p:p + w] * M).sum(), (x[:, p:p + w] * M[::-1, ::-1]).sum())
                       for p in range(30 - w + 1)]
            assert got[i, m] == pytest.approx(max(windows), abs=1e-5)


def _motif_set(n: int, pwm: np.ndarray, rng: np.random.Generator):
    y = rng.integers(0, 2, n).astype(np.uint8)
    X = _random_onehot(n, 150, rng)
    for i in np.flatnonzero(y):
        site = one_hot_codes(np.array([rng.choice(4, p=c) for c in pwm.T], np.uint8), 4)
        if rng.random() < 0.5:
            site = site[::-1, ::-1]
        p = rng.integers(0, 150 - pwm.shape[1])
        X[i, :, p:p + pwm.shape[1]] = site
    return X, y[:, None]


def test_motif_baseline_recovers_planted_jaspar_motif():
    ctcf, spi1 = fetch(["MA0139.2", "MA0080.7"])
    rng = np.random.default_rng(3)
    data = [_motif_set(n, ctcf.probabilities(), rng) for n in (200, 100, 300)]
    # a JASPAR id and a Motif object: the decoy SPI1 should get the smaller weight
    model = MotifScanBaseline(motifs=["MA0139.2", spi1], seed=0)
    model.fit(*data[0], *data[1], tasks=["CTCF"])
    assert model.feature_names() == ["MA0139.2 CTCF", "MA0080.7 Spi1"]
    p = model.predict(data[2][0])
    assert roc_auc_score(data[2][1][:, 0], p[:, 0]) > 0.9
    coef = model.coefficients()[0]
    assert coef[0] > 2 * abs(coef[1])
    assert "MA0139.2 CTCF" in model.describe() and "JASPAR2024" in model.describe()
    again = MotifScanBaseline(motifs=["MA0139.2", spi1], seed=0).fit(*data[0], *data[1])
    np.testing.assert_array_equal(again.predict(data[2][0]), p)


def test_one_class_training_task_predicts_prevalence():
    rng = np.random.default_rng(4)
    X = _random_onehot(40, 20, rng)
    y = np.zeros((40, 2), np.uint8)
    y[::2, 0] = 1
    motif = Motif("toy", "toy", np.ones((4, 3)))
    with pytest.warns(UserWarning, match="empty: one class in the training split"):
        model = MotifScanBaseline(motifs=[motif]).fit(X[:30], y[:30], X[30:], y[30:],
                                                      tasks=["half", "empty"])
    assert (model.predict(X[30:])[:, 1] == 0).all()


def test_motif_filters_are_log_odds_on_both_strands():
    """motif_filters: each JASPAR matrix as log2-odds then its reverse complement, the
    narrower one centred in the widest width (CTCF MA0139.2: 15 columns, Spi1 MA0080.7: 13)."""
    from seqcnn.jaspar import motif_filters

    ctcf, spi1 = fetch(["MA0139.2", "MA0080.7"])
    f = motif_filters(["MA0139.2", "MA0080.7"])
    w = max(ctcf.counts.shape[1], spi1.counts.shape[1])
    assert f.shape == (4, 4, w) and f.dtype == np.float32
    np.testing.assert_allclose(f[0, :, :ctcf.counts.shape[1]], log_odds(ctcf.probabilities()),
                               rtol=1e-5)
    np.testing.assert_allclose(f[1], f[0, ::-1, ::-1])  # reverse complement
    left = (w - spi1.counts.shape[1]) // 2
    assert (f[2, :, :left] == 0).all() and (f[2, :, left + spi1.counts.shape[1]:] == 0).all()
    with pytest.raises(KeyError):
        motif_filters(["MA9999.9"])


# --------------------------------------------------------------------------- ambiguous (255)


def test_baselines_fit_and_select_on_labelled_rows_only():
    rng = np.random.default_rng(6)
    site = "GATTACAG"
    (Xtr, ytr), (Xva, yva), (Xte, _) = (_planted(n, 100, site, rng) for n in (300, 150, 50))
    amb_tr, amb_va = ytr.copy(), yva.copy()
    amb_tr[rng.random(300) < 0.25] = 255
    amb_va[rng.random(150) < 0.25] = 255
    keep_tr, keep_va = amb_tr[:, 0] != 255, amb_va[:, 0] != 255
    for cls in (KmerBaseline, lambda **kw: MotifScanBaseline(
            motifs=[Motif("site", "site", one_hot_batch([site])[0] * 10.0)], **kw)):
        got = cls(seed=0).fit(Xtr, amb_tr, Xva, amb_va, tasks=["site"])
        ref = cls(seed=0).fit(Xtr[keep_tr], ytr[keep_tr], Xva[keep_va], yva[keep_va],
                              tasks=["site"])
        np.testing.assert_allclose(got.predict(Xte), ref.predict(Xte), rtol=1e-6, atol=1e-9)
        assert got.C_ == ref.C_ and got.valid_auroc_ == pytest.approx(ref.valid_auroc_)
        assert got.n_ambiguous_ == [((~keep_tr).sum(), (~keep_va).sum())]
        assert f"{(~keep_tr).sum()} train / {(~keep_va).sum()} valid ambiguous rows left " \
               "out" in got.describe()


def test_task_with_one_labelled_class_predicts_its_prevalence():
    rng = np.random.default_rng(4)
    X = _random_onehot(40, 20, rng)
    y = np.zeros((40, 2), np.uint8)
    y[::2, 0] = 1
    y[::3, 1] = 255  # task b: labelled rows are all negative
    motif = Motif("toy", "toy", np.ones((4, 3)))
    with pytest.warns(UserWarning, match="b: one class in the training split"):
        model = MotifScanBaseline(motifs=[motif]).fit(X[:30], y[:30], X[30:], y[30:],
                                                      tasks=["a", "b"])
    assert (model.predict(X[30:])[:, 1] == 0).all()
