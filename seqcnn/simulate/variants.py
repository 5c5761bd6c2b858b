"""Simulated variants with a known effect on a planted-motif genome, written as a VCF.

Four classes (INFO ``TRUTH``), on the given regions only (the test chromosomes of the
datasets that use the genome), deterministic from a random generator:

- ``break``: an SNV in a planted motif instance that has the consensus base at the PWM
  column of highest information content, to the base of lowest probability there: it
  lowers the instance's log-odds by that column's range (12.1 bits for CTCF MA0139.2, 6.6
  for SPI1 MA0080.7);
- ``create``: an SNV outside peaks (at least :data:`PEAK_MARGIN` bp from every peak of
  every task) that lifts a window from below to at least the motif's *create threshold*,
  the mean log-odds of instances sampled from the PWM (:func:`create_threshold`: planted
  instances score about that), where no window over the position reached it before;
- ``random``: SNVs at positions drawn uniformly (most are neutral; ``SITE`` marks the few
  that fall in a planted instance);
- ``indel``: deletions and insertions of 1..``max_indel`` bp at uniform positions, anchored
  on the base before them (VCF convention).

Positions are 0-based inside (``pos0``: first REF base); the VCF has 1-based ``POS``.
Log-odds are ``log2(p / 0.25)`` of :meth:`seqcnn.jaspar.Motif.probabilities`, in bits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn import jaspar
from seqcnn.data.split import parse_span

CLASSES = ("break", "create", "random", "indel")
#: Default number of variants per class (keeps the demo simulation fast).
DEFAULT_COUNTS = {"break": 150, "create": 150, "random": 300, "indel": 100}
DEFAULT_MAX_INDEL = 10
#: ``create`` SNVs lie at least this far (bp) from every peak of every task.
PEAK_MARGIN = 500
#: INFO fields of the VCF: id → (Number, Type, Description).
INFO = {
    "TRUTH": ("1", "String", "Simulated class: break (SNV breaking a planted motif instance), "
              "create (SNV creating a motif instance outside peaks), random (SNV at a "
              "random position), indel (short insertion or deletion at a random position)"),
    "TASK": ("1", "String", "Task whose motif the SNV breaks or creates (. for random, indel)"),
    "MOTIF": ("1", "String", "JASPAR matrix id of that motif (. for random, indel)"),
    "LOD_REF": ("1", "Float", "break: log-odds (bits, log2 p/0.25) of the planted instance "
                "with REF; create: best log-odds of the motif's windows over the position"),
    "LOD_ALT": ("1", "Float", "break: log-odds of the instance with ALT; create: log-odds "
                "of the window the SNV creates"),
    "SITE": ("0", "Flag", "The variant overlaps a planted motif instance (any task)"),
}
COLUMNS = ["chrom", "pos0", "id", "ref", "alt", "truth", "task", "motif", "lod_ref",
           "lod_alt", "site"]

_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _CODE[_b + 32] = _i
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def variant_rng(seed: int) -> np.random.Generator:
    """The generator of the variants: a stream of its own spawned from ``seed``, so the
    genome (``default_rng(seed)``) is the same with or without variants."""
    return np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(1)[0])


def codes(seq: np.ndarray) -> np.ndarray:
    """ASCII ``uint8`` ``(L,)`` (any case) → codes ``uint8`` ``(L,)``: A C G T = 0..3,
    anything else (N) 4."""
    return _CODE[np.asarray(seq, dtype=np.uint8)]


def create_threshold(pwm: np.ndarray) -> float:
    """Mean log-odds (bits) of instances sampled from ``pwm`` ``(4, w)``: the sum over
    columns of the relative entropy to a uniform background."""
    p = np.asarray(pwm, dtype=np.float64)
    return float((p * jaspar.log_odds(p)).sum())


def information_column(pwm: np.ndarray) -> int:
    """Index of the PWM column ``(4, w)`` with the highest information content (first on
    ties)."""
    p = np.asarray(pwm, dtype=np.float64)
    return int((p * jaspar.log_odds(p)).sum(axis=0).argmax())


def window_scores(c: np.ndarray, logodds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every window of codes ``c`` ``(L,)`` under ``logodds`` ``(4, w)``.

    Returns ``(score, gain)``, both ``float64`` ``(L - w + 1,)``: the window's log-odds
    (``-inf`` where it holds a code 4) and the largest increase one substitution can make.
    """
    w = logodds.shape[1]
    n = len(c) - w + 1
    if n <= 0:
        return np.full(0, -np.inf), np.zeros(0)
    padded = np.vstack([logodds, np.full((1, w), -np.inf)])  # code 4 (N): -inf
    best = logodds.max(axis=0)
    score, gain = np.zeros(n), np.zeros(n)
    for j in range(w):
        col = padded[c[j:j + n], j]
        score += col
        np.maximum(gain, best[j] - col, out=gain)
    return score, gain


def parse_regions(regions: Sequence[str] | None, sizes: Mapping[str, int],
                  key: str = "variants.regions") -> list[tuple[str, int, int]]:
    """``(chrom, start, end)`` (0-based, half-open) of each entry of ``regions``
    (chromosome names or ``chrom:start-end``, 1-based inclusive, as the dataset's
    ``split``); ``None``: every chromosome. ``ConfigError`` naming ``key`` otherwise."""
    if regions is None:
        return [(c, 0, int(n)) for c, n in sizes.items()]
    spans = [parse_span(text, "test", sizes, key) for text in regions]
    return [(s.chrom, s.start, s.end) for s in spans]


def _masks(chroms: Mapping[str, np.ndarray], spans: Sequence[tuple[str, int, int]]
           ) -> dict[str, np.ndarray]:
    """Per chromosome ``bool`` ``(L,)``: inside a span and an A/C/G/T base."""
    out = {}
    for chrom, start, end in spans:
        if chrom not in out:
            out[chrom] = np.zeros(len(chroms[chrom]), dtype=bool)
        out[chrom][start:end] = True
    for chrom, mask in out.items():
        mask &= codes(chroms[chrom]) < 4
    return out


def _interval_mask(length: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``bool`` ``(length,)``: covered by any ``[start, end)`` (clipped to the sequence)."""
    diff = np.zeros(length + 1, dtype=np.int64)
    np.add.at(diff, np.clip(starts, 0, length), 1)
    np.add.at(diff, np.clip(ends, 0, length), -1)
    return np.cumsum(diff[:-1]) > 0


def allocate(n: int, available: Mapping[str, int]) -> dict[str, int]:
    """Split ``n`` over tasks as evenly as their ``available`` counts allow (remainders to
    the first tasks; what a task lacks goes to the others)."""
    out = {t: 0 for t in available}
    left = n
    while left > 0:
        open_ = [t for t in available if out[t] < available[t]]
        if not open_:
            break
        share, extra = divmod(left, len(open_))
        for k, t in enumerate(open_):
            take = min(share + (k < extra), available[t] - out[t])
            out[t] += take
            left -= take
    return out


def _on_strand(chroms: Mapping[str, np.ndarray], r: Any) -> np.ndarray:
    """Codes ``(w,)`` of a planted instance (a truth row) read on its motif's strand."""
    site = codes(chroms[r.chrom][r.start:r.end])
    return site if r.strand == "+" else (3 - site)[::-1]


def break_snvs(chroms: Mapping[str, np.ndarray], truth: pd.DataFrame,
               motifs: Mapping[str, Mapping[str, np.ndarray]], mask: Mapping[str, np.ndarray],
               n: int, rng: np.random.Generator) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``n`` motif-breaking SNVs (spread over tasks) in planted instances of ``truth``
    (chrom, start, end, strand, motif_id, task) that lie wholly where ``mask`` is true and
    carry the consensus base at the PWM's most informative column (:func:`information_column`):
    the SNV puts the column's least likely base there. ``motifs`` maps task → motif id → PWM
    ``(4, w)``. Returns rows and the eligible instances per task."""
    keep = []
    for r in truth.itertuples():
        if r.task not in motifs or r.chrom not in mask or not mask[r.chrom][r.start:r.end].all():
            keep.append(False)
            continue
        pwm = motifs[r.task][r.motif_id]
        j = information_column(pwm)
        keep.append(int(_on_strand(chroms, r)[j]) == int(pwm[:, j].argmax()))
    eligible = truth[np.asarray(keep, dtype=bool)]
    by_task = {t: eligible[eligible["task"] == t] for t in motifs}
    available = {t: len(df) for t, df in by_task.items()}
    rows = []
    for task, k in allocate(n, available).items():
        df = by_task[task]
        for r in df.iloc[np.sort(rng.choice(len(df), size=k, replace=False))].itertuples():
            pwm = motifs[task][r.motif_id]
            lo = jaspar.log_odds(pwm)
            j = information_column(pwm)
            on_strand = _on_strand(chroms, r)
            ref, alt = int(on_strand[j]), int(pwm[:, j].argmin())
            before = float(lo[on_strand, np.arange(len(on_strand))].sum())
            pos = r.start + j if r.strand == "+" else r.end - 1 - j
            g_ref, g_alt = (ref, alt) if r.strand == "+" else (3 - ref, 3 - alt)
            rows.append(dict(chrom=r.chrom, pos0=int(pos), ref=chr(_BASES[g_ref]),
                             alt=chr(_BASES[g_alt]), truth="break", task=task,
                             motif=r.motif_id, lod_ref=before,
                             lod_alt=before - lo[ref, j] + lo[alt, j]))
    return rows, available


def create_candidates(c: np.ndarray, allowed: np.ndarray, pwm: np.ndarray) -> pd.DataFrame:
    """Every SNV of codes ``c`` ``(L,)`` that lifts a window of ``pwm`` (either strand)
    wholly inside ``allowed`` ``(L,)`` to at least :func:`create_threshold` while no window
    over that position reaches it before. One row per position (the highest new score):
    ``pos0, alt (code), lod_ref, lod_alt``."""
    lo = jaspar.log_odds(pwm)
    w, thr = lo.shape[1], create_threshold(pwm)
    n = len(c) - w + 1
    if n <= 0:
        return pd.DataFrame(columns=["pos0", "alt", "lod_ref", "lod_alt"])
    ok = np.convolve(allowed.astype(np.int64), np.ones(w, dtype=np.int64), "valid") == w
    parts, ref_best = [], np.full(n, -np.inf)
    for m in (lo, lo[::-1, ::-1]):  # the motif on + and on - (reverse complement)
        score, gain = window_scores(c, m)
        np.maximum(ref_best, score, out=ref_best)
        with np.errstate(invalid="ignore"):  # windows with N: -inf + inf
            hits = np.flatnonzero(ok & (score < thr) & (score + gain >= thr))
        for s in hits:
            col = m[c[s:s + w], np.arange(w)]
            j = int((m.max(axis=0) - col).argmax())
            parts.append((int(s + j), int(m[:, j].argmax()), float(score[s] + m.max(axis=0)[j]
                                                                   - col[j])))
    if not parts:
        return pd.DataFrame(columns=["pos0", "alt", "lod_ref", "lod_alt"])
    df = pd.DataFrame(parts, columns=["pos0", "alt", "lod_alt"])
    # best window over the position with REF: windows starting in pos - w + 1 .. pos
    padded = np.concatenate([np.full(w - 1, -np.inf), ref_best, np.full(w - 1, -np.inf)])
    cover = np.lib.stride_tricks.sliding_window_view(padded, w)
    df["lod_ref"] = cover[df["pos0"].to_numpy()].max(axis=1)
    df = df[df["lod_ref"] < thr]
    df = df.sort_values(["pos0", "lod_alt"], ascending=[True, False], kind="stable")
    return df.drop_duplicates("pos0").reset_index(drop=True)[["pos0", "alt", "lod_ref",
                                                               "lod_alt"]]


def create_snvs(chroms: Mapping[str, np.ndarray], peaks: pd.DataFrame,
                motifs: Mapping[str, Mapping[str, np.ndarray]], mask: Mapping[str, np.ndarray],
                n: int, rng: np.random.Generator, used: Mapping[str, set[int]]
                ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``n`` motif-creating SNVs (spread over tasks; :func:`create_candidates`) where
    ``mask`` is true and at least :data:`PEAK_MARGIN` bp from every peak in ``peaks``
    (chrom, start, end; all tasks). Returns rows and the candidate positions per task."""
    pools: dict[str, list[tuple[str, str, pd.DataFrame]]] = {t: [] for t in motifs}
    for chrom, m in (mask.items() if n > 0 else ()):  # none asked: no scan
        p = peaks[peaks["chrom"] == chrom]
        near = _interval_mask(len(m), p["start"].to_numpy() - PEAK_MARGIN,
                              p["end"].to_numpy() + PEAK_MARGIN)
        c = codes(chroms[chrom])
        for task, pwms in motifs.items():
            for mid, pwm in pwms.items():
                df = create_candidates(c, m & ~near, pwm)
                df = df[~df["pos0"].isin(used.get(chrom, ()))]
                pools[task].append((chrom, mid, df))
    flat = {t: pd.concat([df.assign(chrom=ch, motif=mid) for ch, mid, df in pool]
                         or [pd.DataFrame(columns=["pos0", "alt", "lod_ref", "lod_alt",
                                                   "chrom", "motif"])], ignore_index=True)
            for t, pool in pools.items()}
    # one task per position: a position two tasks could create goes to the first task
    taken: set[tuple[str, int]] = set()
    for t in flat:
        keys = list(zip(flat[t]["chrom"], flat[t]["pos0"], strict=True))
        keep = np.array([k not in taken for k in keys], dtype=bool)
        flat[t] = flat[t][keep].drop_duplicates(["chrom", "pos0"]).reset_index(drop=True)
        taken |= set(keys)
    available = {t: len(df) for t, df in flat.items()}
    rows = []
    for task, k in allocate(n, available).items():
        df = flat[task]
        for i in np.sort(rng.choice(len(df), size=k, replace=False)):
            r = df.iloc[int(i)]
            ref = int(codes(chroms[r["chrom"]][int(r["pos0"])][None])[0])
            rows.append(dict(chrom=r["chrom"], pos0=int(r["pos0"]), ref=chr(_BASES[ref]),
                             alt=chr(_BASES[int(r["alt"])]), truth="create", task=task,
                             motif=r["motif"], lod_ref=float(r["lod_ref"]),
                             lod_alt=float(r["lod_alt"])))
    return rows, available


def _free_positions(mask: Mapping[str, np.ndarray], used: Mapping[str, set[int]]
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Chromosome names, and chromosome index and position ``int64`` ``(K,)`` of every
    position where ``mask`` is true and no variant is yet."""
    names = list(mask)
    idx, pos = [], []
    for k, chrom in enumerate(names):
        free = mask[chrom].copy()
        free[list(used.get(chrom, ()))] = False
        p = np.flatnonzero(free)
        idx.append(np.full(len(p), k, dtype=np.int64))
        pos.append(p)
    return names, np.concatenate(idx or [np.zeros(0, np.int64)]), np.concatenate(
        pos or [np.zeros(0, np.int64)])


def random_snvs(chroms: Mapping[str, np.ndarray], mask: Mapping[str, np.ndarray], n: int,
                rng: np.random.Generator, used: Mapping[str, set[int]]
                ) -> tuple[list[dict[str, Any]], int]:
    """``n`` SNVs at positions drawn uniformly where ``mask`` is true (and no variant is),
    to one of the three other bases, each equally likely. Returns rows and the positions
    available."""
    names, idx, pos = _free_positions(mask, used)
    k = min(n, len(pos))
    pick = np.sort(rng.choice(len(pos), size=k, replace=False))
    shift = rng.integers(1, 4, size=k)
    rows = []
    for i, s in zip(pick, shift, strict=True):
        chrom, p = names[idx[i]], int(pos[i])
        ref = int(codes(chroms[chrom][p:p + 1])[0])
        rows.append(dict(chrom=chrom, pos0=p, ref=chr(_BASES[ref]),
                         alt=chr(_BASES[(ref + int(s)) % 4]), truth="random"))
    return rows, len(pos)


def random_indels(chroms: Mapping[str, np.ndarray], mask: Mapping[str, np.ndarray], n: int,
                  max_len: int, rng: np.random.Generator, used: Mapping[str, set[int]]
                  ) -> tuple[list[dict[str, Any]], int]:
    """``n`` indels at uniform positions where ``mask`` is true: each a deletion or an
    insertion (equally likely) of ``1..max_len`` bp (uniform; inserted bases uniform), with
    the base before it as anchor, all of REF inside ``mask`` and away from other variants.
    Returns rows and the draws rejected (REF would leave the mask or touch a variant)."""
    names, idx, pos = _free_positions(mask, used)
    rows, rejected = [], 0
    taken = {c: set(used.get(c, ())) for c in names}
    for _ in range(50 * n + 100):
        if len(rows) == n or not len(pos):
            break
        i = int(rng.integers(len(pos)))
        chrom, p = names[idx[i]], int(pos[i])
        length = int(rng.integers(1, max_len + 1))
        deletion = bool(rng.random() < 0.5)
        inserted = rng.integers(0, 4, size=length)
        span = range(p, p + 1 + length) if deletion else range(p, p + 1)
        if span.stop > len(mask[chrom]) or not mask[chrom][span.start:span.stop].all() \
                or any(q in taken[chrom] for q in span):
            rejected += 1
            continue
        taken[chrom].update(span)
        ref = _BASES[codes(chroms[chrom][span.start:span.stop])].tobytes().decode()
        alt = ref[0] if deletion else ref + _BASES[inserted].tobytes().decode()
        rows.append(dict(chrom=chrom, pos0=p, ref=ref, alt=alt, truth="indel"))
    return rows, rejected


def simulate_variants(
    chroms: Mapping[str, np.ndarray], truth: pd.DataFrame, peaks: pd.DataFrame,
    motifs: Mapping[str, Mapping[str, np.ndarray]],
    spans: Sequence[tuple[str, int, int]], rng: np.random.Generator,
    counts: Mapping[str, int] | None = None, max_indel: int = DEFAULT_MAX_INDEL,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Variants of the four :data:`CLASSES` on ``spans`` of the genome ``chroms`` (ASCII
    ``uint8`` arrays).

    ``truth``: planted instances (chrom, start, end, strand, motif_id, task); ``peaks``:
    every peak (chrom, start, end); ``motifs``: task → motif id → PWM ``(4, w)``;
    ``counts``: class → number wanted (:data:`DEFAULT_COUNTS`). A class that finds fewer
    places than asked writes what it finds.

    Returns the variants (:data:`COLUMNS`, sorted by chromosome as in ``chroms`` then
    position; ``id`` ``<class><k>``) and per class ``{"asked", "written", ...}`` with what
    limited it (``available`` per task, or positions).
    """
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    mask = _masks(chroms, spans)
    report: dict[str, dict[str, Any]] = {}
    rows, available = break_snvs(chroms, truth, motifs, mask, counts["break"], rng)
    report["break"] = {"instances": available}
    used: dict[str, set[int]] = {c: set() for c in mask}
    for r in rows:
        used[r["chrom"]].add(r["pos0"])
    created, available = create_snvs(chroms, peaks, motifs, mask, counts["create"], rng, used)
    report["create"] = {"candidates": available}
    for r in created:
        used[r["chrom"]].add(r["pos0"])
    rand, free = random_snvs(chroms, mask, counts["random"], rng, used)
    report["random"] = {"positions": free}
    for r in rand:
        used[r["chrom"]].add(r["pos0"])
    indels, rejected = random_indels(chroms, mask, counts["indel"], max_indel, rng, used)
    report["indel"] = {"rejected_draws": rejected}
    for cls, found in zip(CLASSES, (rows, created, rand, indels), strict=True):
        for k, r in enumerate(found):
            r["id"] = f"{cls}{k + 1}"
        report[cls] |= {"asked": int(counts[cls]), "written": len(found)}
    table = pd.DataFrame([*rows, *created, *rand, *indels], columns=COLUMNS)
    table[["task", "motif"]] = table[["task", "motif"]].fillna(".")
    table["site"] = _overlaps(table, truth, chroms)
    order = {c: k for k, c in enumerate(chroms)}
    table = table.assign(_c=table["chrom"].map(order)).sort_values(
        ["_c", "pos0", "id"], kind="stable").drop(columns="_c").reset_index(drop=True)
    return table, report


def _overlaps(table: pd.DataFrame, truth: pd.DataFrame, chroms: Mapping[str, np.ndarray]
              ) -> np.ndarray:
    """``bool`` per variant: its REF bases overlap a planted instance."""
    out = np.zeros(len(table), dtype=bool)
    for chrom, idx in table.groupby("chrom").groups.items():
        t = truth[truth["chrom"] == chrom]
        site = _interval_mask(len(chroms[chrom]), t["start"].to_numpy(), t["end"].to_numpy())
        for i in idx:
            p, n = int(table.at[i, "pos0"]), len(table.at[i, "ref"])
            out[table.index.get_loc(i)] = bool(site[p:p + n].any())
    return out


def write_vcf(variants: pd.DataFrame, sizes: Mapping[str, int], path: str | os.PathLike,
              source: str = "seqcnn.simulate.variants") -> tuple[Path, Path]:
    """Write ``variants`` (:data:`COLUMNS`, sorted) as a bgzipped VCF with ``##contig``
    lines for every chromosome of ``sizes`` and the :data:`INFO` declarations, and its
    tabix index (``path + ".tbi"``). The same table gives the same bytes."""
    import pysam

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = pysam.VariantHeader()
    header.add_line(f"##source={source}")
    for chrom, length in sizes.items():
        header.contigs.add(chrom, length=int(length))
    for key, (number, kind, text) in INFO.items():
        header.add_meta("INFO", items=[("ID", key), ("Number", number), ("Type", kind),
                                       ("Description", text)])
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for r in variants.itertuples():
            info: dict[str, Any] = {"TRUTH": r.truth, "TASK": r.task, "MOTIF": r.motif}
            if pd.notna(r.lod_ref):
                info |= {"LOD_REF": round(float(r.lod_ref), 3),
                         "LOD_ALT": round(float(r.lod_alt), 3)}
            if r.site:
                info["SITE"] = True
            out.write(out.new_record(contig=r.chrom, start=int(r.pos0), alleles=(r.ref, r.alt),
                                     id=r.id, filter="PASS", info=info))
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path, Path(f"{path}.tbi")


__all__ = [
    "CLASSES", "COLUMNS", "DEFAULT_COUNTS", "DEFAULT_MAX_INDEL", "INFO", "PEAK_MARGIN",
    "allocate", "break_snvs", "codes", "create_candidates", "create_snvs", "create_threshold",
    "information_column", "parse_regions", "random_indels", "random_snvs",
    "simulate_variants", "variant_rng", "window_scores", "write_vcf",
]
