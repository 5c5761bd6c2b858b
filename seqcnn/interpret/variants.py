"""Variant effects: score reference and alternative windows with a model, explain the top.

Scoring (:func:`score_chunks`) streams :class:`~seqcnn.data.variants.VariantChunk` s: the
reference and alternative windows of a chunk and their reverse complements go through the
model together (fp32, in batches of ``batch_size`` windows, on the GPU when there is one;
one reference window per position, however many ALTs share it), and each allele's logits
are the mean of its two strands. Per task ``t``:

- ``ref_t``, ``alt_t``: the probabilities ``sigmoid(logit)`` of the two alleles;
- ``effect_t = logit(alt) − logit(ref)``: the log-odds difference, alt − ref;
- ``max_abs_effect``: the largest ``|effect_t|`` over tasks, and ``max_task`` its task.

Fast path (``fast``; by default for models :func:`seqcnn.interpret.fastism.supports` whose
receptive field is at most half the window, :func:`fast_pays`): an
allele whose window differs from its reference window in one letter (an SNV) is a
single-letter mutant of it, forward strand (letter ``a`` at column ``p``) and reverse
(letter ``3 − a`` at ``L − 1 − p`` of the reverse complement). The reference windows of a
batch go through the model once, both strands, keeping every layer's activations
(:class:`seqcnn.interpret.fastism._Reference`), and each SNV recomputes only the windows
of each layer its letter can reach, for every output column at once. Indels, MNVs and
other models run the full pass of their alternative windows; both give the same numbers up
to float rounding.

Memory holds one chunk and the running top ``top_n`` variants per task
(:class:`TopVariants`), whatever the number of variants.

Explaining the top variants (:func:`explain`): in-silico mutagenesis
(:func:`seqcnn.interpret.attribution.ism`, forward strand) of both windows, centred over
the letters; the ISM-difference map is the alternative's map minus the reference's, each
projected on its own sequence. The motif the variant breaks (``effect < 0``) or creates
(``effect > 0``) is the best Tomtom match (memelite, Pearson columns) in JASPAR of the
stronger allele's centred map, trimmed to the columns around the variant that carry at
least ``trim`` of its largest column.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.data.variants import VariantChunk
from seqcnn.models.strands import sequence_logits

#: Columns of the top-variant table.
TOP_COLUMNS = ["task", "rank", "chrom", "pos", "id", "ref", "alt", "kind", "ref_score",
               "alt_score", "effect", "action", "motif_id", "motif_name", "motif_q"]


def score_columns(tasks: Sequence[str]) -> list[str]:
    """The score columns of the variant table, in order (module docstring)."""
    return ([f"{k}_{t}" for t in tasks for k in ("ref", "alt", "effect")]
            + ["max_abs_effect", "max_task"])


@torch.inference_mode()
def strand_logits(model: nn.Module, x: np.ndarray, device: torch.device,
                  batch_size: int = 512) -> np.ndarray:
    """Logits of one-hot windows ``(n, 4, L)`` averaged over both strands: ``(n, T)``
    float32. Both strands of ``batch_size // 2`` windows go through the model in one
    batch; the windows travel to ``device`` as uint8 and are cast there. Runs under
    ``torch.inference_mode`` (no autograd bookkeeping)."""
    model.eval()
    half = max(1, batch_size // 2)
    out = []
    for s in range(0, len(x), half):
        xb = torch.from_numpy(np.ascontiguousarray(x[s:s + half])).to(device)
        out.append(sequence_logits(model, xb.float()).float().cpu())
    if not out:
        return np.zeros((0, 0), np.float32)
    return torch.cat(out).numpy()


def effect_table(table: pd.DataFrame, ref_logits: np.ndarray, alt_logits: np.ndarray,
                 tasks: Sequence[str]) -> pd.DataFrame:
    """The variant table (``chrom, pos, id, ref, alt, kind``) with the score columns of
    :func:`score_columns` from logits ``(n, T)`` of both alleles."""
    out = table[["chrom", "pos", "id", "ref", "alt", "kind"]].reset_index(drop=True).copy()
    effect = alt_logits.astype(np.float64) - ref_logits.astype(np.float64)
    for t, task in enumerate(tasks):
        out[f"ref_{task}"] = 1 / (1 + np.exp(-ref_logits[:, t].astype(np.float64)))
        out[f"alt_{task}"] = 1 / (1 + np.exp(-alt_logits[:, t].astype(np.float64)))
        out[f"effect_{task}"] = effect[:, t]
    best = np.abs(effect).argmax(axis=1) if len(out) else np.zeros(0, int)
    out["max_abs_effect"] = np.abs(effect).max(axis=1) if len(out) else np.zeros(0)
    out["max_task"] = np.asarray(tasks, dtype=object)[best]
    return out


def unique_positions(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For positions ``(n,)`` of one chromosome: the index of one allele per distinct
    position ``(u,)``, and for each allele the number of its position among those ``(n,)``
    (so that ``x[first][inverse]`` gives every allele its position's row)."""
    _, first, inverse = np.unique(pos, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def snv_sites(ref: np.ndarray, alt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which alternative windows ``(n, 4, L)`` are single-letter changes of their reference
    windows ``(n, 4, L)`` (exactly one column differs and holds one letter): ``(n,)`` bool,
    and that column and letter ``(n,)`` int64 (meaningless where False)."""
    if not len(ref):
        return np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, np.int64)
    diff = (ref != alt).any(axis=1)  # (n, L)
    col = diff.argmax(axis=1)
    letters = alt[np.arange(len(alt)), :, col]  # (n, 4)
    single = (diff.sum(axis=1) == 1) & (letters.sum(axis=1) == 1)
    return single, col.astype(np.int64), letters.argmax(axis=1).astype(np.int64)


@torch.inference_mode()
def snv_logits(model: nn.Module, ref: np.ndarray, owner: np.ndarray, col: np.ndarray,
               letter: np.ndarray, device: torch.device, batch_size: int = 512,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Strand-averaged logits of reference windows ``ref`` ``(u, 4, L)`` and of SNVs
    ``(m,)``: letter ``letter`` at column ``col`` of window ``owner``, by fast ISM
    (module docstring). ``batch_size // 2`` windows (both strands) per reference pass.
    Returns ``(u, T)`` and ``(m, T)`` float32."""
    from seqcnn.interpret.fastism import _Reference

    model.eval()
    half, length = max(1, batch_size // 2), ref.shape[-1]
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(0, len(ref) + half, half))
    ref_out, alt_out = [], np.zeros((len(owner), 0), np.float32)
    for b, s in enumerate(range(0, len(ref), half)):
        x = torch.from_numpy(np.ascontiguousarray(ref[s:s + half])).to(device).float()
        h = len(x)
        both = torch.cat([x, x.flip(dims=(-2, -1))])
        mask = torch.ones(2 * h, length, dtype=torch.bool, device=device)
        state = _Reference(model, both, mask, None)
        y0 = state.y0.reshape(2 * h, -1).float()  # (2h, T)
        ref_out.append(((y0[:h] + y0[h:]) / 2).cpu())
        if alt_out.shape[1] != y0.shape[1]:
            alt_out = np.zeros((len(owner), y0.shape[1]), np.float32)
        rows = order[bounds[b]:bounds[b + 1]]
        if not len(rows):
            continue
        n = torch.from_numpy(owner[rows] - s).to(device)
        a = torch.from_numpy(letter[rows]).to(device)
        p = torch.from_numpy(col[rows]).to(device)
        change = state.changes(torch.cat([n, n + h]), torch.cat([a, 3 - a]),
                               torch.cat([p, length - 1 - p])).reshape(2 * len(n), -1)
        fwd, rev = y0[n] + change[:len(n)], y0[n + h] + change[len(n):]
        alt_out[rows] = ((fwd + rev) / 2).float().cpu().numpy()
    if not ref_out:
        return np.zeros((0, 0), np.float32), alt_out
    return torch.cat(ref_out).numpy(), alt_out


def chunk_logits(model: nn.Module, chunk: VariantChunk, device: torch.device,
                 batch_size: int = 512, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Strand-averaged logits ``(n, T)`` of the reference and alternative windows of a
    chunk: one reference pass per distinct position; with ``fast``, SNVs by
    :func:`snv_logits` and the other alleles by full passes."""
    first, inverse = unique_positions(chunk.table["pos"].to_numpy())
    if not fast:
        logits = strand_logits(model, np.concatenate([chunk.ref[first], chunk.alt]), device,
                               batch_size)
        return logits[:len(first)][inverse], logits[len(first):]
    single, col, letter = snv_sites(chunk.ref, chunk.alt)
    ref_u, snv = snv_logits(model, chunk.ref[first], inverse[single], col[single],
                            letter[single], device, batch_size)
    alt = np.zeros((len(chunk), ref_u.shape[1]), np.float32)
    alt[single] = snv
    if not single.all():
        alt[~single] = strand_logits(model, chunk.alt[~single], device, batch_size)
    return ref_u[inverse], alt


def fast_pays(model: nn.Module, seq_len: int) -> bool:
    """Whether the fast SNV path is worth it by default: the model's receptive field is at
    most half of ``seq_len`` (unknown receptive field: yes)."""
    field = getattr(model, "receptive_field", None)
    return field is None or 2 * int(field) <= seq_len


def snv_path(model: nn.Module, seq_len: int) -> tuple[bool, str]:
    """The default SNV path of :func:`score_chunks` for windows of ``seq_len``: ``(fast,
    why)``, the reason one phrase for the log."""
    from seqcnn.interpret import fastism

    if not fastism.supports(model):
        return False, f"full windows: fast ISM does not support {type(model).__name__}"
    field = getattr(model, "receptive_field", None)
    if not fast_pays(model, seq_len):
        return False, (f"full windows: the receptive field ({field} bp) is more than half the "
                       f"{seq_len} bp window, where fast ISM is no faster")
    return True, (f"fast ISM for SNVs (receptive field {field} bp of a {seq_len} bp window); "
                  "indels in full windows")


def score_chunks(model: nn.Module, chunks: Iterable[VariantChunk], tasks: Sequence[str],
                 device: torch.device | str = "cpu", batch_size: int = 512,
                 fast: bool | None = None,
                 ) -> Iterator[tuple[VariantChunk, pd.DataFrame, np.ndarray]]:
    """For each chunk: the chunk, its :func:`effect_table` and its effects ``(n, T)``.

    The reference window depends only on the position, so alleles at one position (the
    ALTs of a multi-allelic record, or records sharing a POS) share one reference pass:
    a chunk of ``n`` alleles at ``u`` positions costs ``2 (u + n)`` windows, not ``4 n``.
    ``fast`` scores SNVs by fast ISM of their reference windows (module docstring);
    ``fast=False`` runs every window in full. Default (None): fast when
    :func:`seqcnn.interpret.fastism.supports` the model and its receptive field is at most
    half the window (:func:`fast_pays`); with a wider field a letter's windows cover most
    of each layer and the fast path is no faster (benchmarks/variants.py: 0.88× for the
    default dilated CNN, receptive field 145 of 200; 1.3× for a field of 33)."""
    from seqcnn.interpret import fastism

    device = torch.device(device)
    model = model.to(device)
    auto = fast is None
    if not auto and fast and not fastism.supports(model):
        raise ValueError(f"fast SNV scoring needs a seqcnn zoo model that fast ISM supports; "
                         f"got {type(model).__name__} (pass fast=False or leave it None)")
    for chunk in chunks:
        if not len(chunk):
            continue
        use = snv_path(model, chunk.ref.shape[-1])[0] if auto else fast
        ref, alt = chunk_logits(model, chunk, device, batch_size, use)
        if ref.shape[1] != len(tasks):
            raise ValueError(f"the model has {ref.shape[1]} outputs, the manifest "
                             f"{len(tasks)} tasks ({', '.join(tasks)})")
        yield chunk, effect_table(chunk.table, ref, alt, tasks), alt - ref


class TopVariants:
    """The ``n`` variants with the largest ``|effect|`` per task, kept while streaming:
    their rows of the effect table and their windows."""

    def __init__(self, tasks: Sequence[str], n: int) -> None:
        self.tasks, self.n = list(tasks), n
        self.rows: dict[str, pd.DataFrame] = {}
        self.ref: dict[str, np.ndarray] = {}
        self.alt: dict[str, np.ndarray] = {}
        self.effect: dict[str, np.ndarray] = {}

    def update(self, chunk: VariantChunk, scores: pd.DataFrame, effect: np.ndarray) -> None:
        """Merge one chunk's candidates into the running top of every task."""
        for t, task in enumerate(self.tasks):
            take = np.argsort(-np.abs(effect[:, t]), kind="stable")[:self.n]
            rows = scores.iloc[take].reset_index(drop=True)
            ref, alt, eff = chunk.ref[take], chunk.alt[take], effect[take, t]
            if task in self.rows:
                rows = pd.concat([self.rows[task], rows], ignore_index=True)
                ref = np.concatenate([self.ref[task], ref])
                alt = np.concatenate([self.alt[task], alt])
                eff = np.concatenate([self.effect[task], eff])
            keep = np.argsort(-np.abs(eff), kind="stable")[:self.n]
            self.rows[task] = rows.iloc[keep].reset_index(drop=True)
            self.ref[task], self.alt[task], self.effect[task] = ref[keep], alt[keep], eff[keep]


# --------------------------------------------------------------------------- explanations


def ism_maps(model: nn.Module, ref: np.ndarray, alt: np.ndarray, target: int,
             batch_size: int = 256) -> dict[str, np.ndarray]:
    """Centred ISM maps ``(n, 4, L)`` of both alleles (``ref_ism``, ``alt_ism``) and the
    ISM-difference ``diff`` = alt's map × alt − ref's map × ref (each projected on its own
    sequence): float32."""
    from seqcnn.interpret.attribution import ism

    maps = {}
    for name, x in (("ref", ref), ("alt", alt)):
        h = np.asarray(ism(model, x, target=target, batch_size=batch_size), np.float32)
        maps[f"{name}_ism"] = h - h.mean(axis=1, keepdims=True)
    maps["diff"] = (maps["alt_ism"] * alt - maps["ref_ism"] * ref).astype(np.float32)
    return maps


def attribution_query(hyp: np.ndarray, onehot: np.ndarray, flank: int = 20,
                      trim: float = 0.25, min_width: int = 5) -> np.ndarray | None:
    """The Tomtom query of one window: its centred map ``hyp`` ``(4, L)`` cut to the columns
    within ``flank`` of the centre, trimmed to the first and last column whose projected
    contribution ``|hyp × onehot|`` reaches ``trim`` of the largest; None when fewer than
    ``min_width`` columns remain or nothing contributes. ``(4, w)``."""
    c = hyp.shape[1] // 2
    lo, hi = max(0, c - flank), min(hyp.shape[1], c + flank + 1)
    h, x = hyp[:, lo:hi], onehot[:, lo:hi]
    weight = np.abs((h * x).sum(axis=0))
    if weight.max(initial=0) <= 0:
        return None
    keep = np.flatnonzero(weight >= trim * weight.max())
    a, b = int(keep[0]), int(keep[-1]) + 1
    if b - a < min_width:
        pad = (min_width - (b - a) + 1) // 2
        a, b = max(0, a - pad), min(h.shape[1], b + pad)
    return h[:, a:b] if b - a >= min_width else None


def name_motifs(queries: Mapping[str, np.ndarray | None], release: str = "JASPAR2024",
                collection: str = "CORE", tax_group: str | None = "vertebrates",
                max_q: float = 0.05) -> dict[str, tuple[str, str, float]]:
    """The best JASPAR match ``(id, name, q)`` of each query with ``q ≤ max_q`` (Tomtom,
    Pearson columns); queries that are None or match nothing are left out."""
    from seqcnn.interpret.motifs import best_matches, tomtom_jaspar

    queries = {k: v for k, v in queries.items() if v is not None}
    if not queries:
        return {}
    best = best_matches(tomtom_jaspar(queries, release, collection, tax_group, n_jobs=1),
                        max_q)
    return {r.query: (r.target_id, r.target_name, float(r.q)) for r in best.itertuples()}


def explain(model: nn.Module, top: TopVariants, motif_db: Mapping[str, object] | None = None,
            ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The top-variant table (:data:`TOP_COLUMNS`) and arrays per task (``{task}.ref``,
    ``{task}.alt`` one-hot, ``{task}.ref_ism``, ``{task}.alt_ism``, ``{task}.diff``) of
    :func:`ism_maps`. ``motif_db``: ``release``, ``collection``, ``tax_group``, ``max_q``
    for :func:`name_motifs` (None: no motif naming)."""
    model = model.eval()
    rows, arrays, queries = [], {}, {}
    for t, task in enumerate(top.tasks):
        if task not in top.rows:
            continue
        ref, alt, eff = top.ref[task], top.alt[task], top.effect[task]
        maps = ism_maps(model, ref, alt, t)
        arrays.update({f"{task}.ref": ref, f"{task}.alt": alt,
                       **{f"{task}.{k}": v for k, v in maps.items()}})
        for i, r in enumerate(top.rows[task].itertuples(index=False)):
            strong = "alt" if eff[i] > 0 else "ref"
            queries[f"{task}:{i}"] = attribution_query(
                maps[f"{strong}_ism"][i], alt[i] if strong == "alt" else ref[i])
            rows.append({
                "task": task, "rank": i + 1, "chrom": r.chrom, "pos": r.pos, "id": r.id,
                "ref": r.ref, "alt": r.alt, "kind": r.kind,
                "ref_score": getattr(r, f"ref_{task}"), "alt_score": getattr(r, f"alt_{task}"),
                "effect": float(eff[i]), "action": "creates" if eff[i] > 0 else "breaks",
            })
    names = name_motifs(queries, **motif_db) if motif_db is not None else {}
    for row, key in zip(rows, queries, strict=True):
        mid, mname, q = names.get(key, ("", "", np.nan))
        row.update(motif_id=mid, motif_name=mname, motif_q=q)
    return pd.DataFrame(rows, columns=TOP_COLUMNS), arrays


def plot_top_variants(path: str | os.PathLike, table: pd.DataFrame,
                      arrays: Mapping[str, np.ndarray], plot_n: int = 3, flank: int = 25) -> None:
    """The report's panel: for the first ``plot_n`` top variants of each task, three logo
    rows over ``flank`` bases either side of the variant: the reference's projected
    centred ISM, the alternative's, and the ISM difference (alt − ref). Written as PNG."""
    import logomaker
    from matplotlib.figure import Figure

    shown = table[table["rank"] <= plot_n]
    n = max(1, len(shown))
    fig = Figure(figsize=(10, 2.6 * n))
    axes = fig.subplots(3 * n, 1, squeeze=False)[:, 0]
    if not len(shown):
        axes[0].text(0.5, 0.5, "no variant scored", ha="center", va="center")
        for ax in axes:
            ax.axis("off")
    for k, r in enumerate(shown.itertuples(index=False)):
        i = r.rank - 1
        ref, alt = arrays[f"{r.task}.ref"][i], arrays[f"{r.task}.alt"][i]
        c = ref.shape[1] // 2
        lo, hi = max(0, c - flank), min(ref.shape[1], c + flank + 1)
        rows = (("ref", arrays[f"{r.task}.ref_ism"][i] * ref),
                ("alt", arrays[f"{r.task}.alt_ism"][i] * alt),
                ("alt − ref", arrays[f"{r.task}.diff"][i]))
        motif = f"{r.action} {r.motif_id} {r.motif_name}" if r.motif_id else r.action
        lim = max(float(np.abs(m[:, lo:hi]).sum(axis=0).max()) for _, m in rows) or 1.0
        for j, (label, m) in enumerate(rows):
            ax = axes[3 * k + j]
            df = pd.DataFrame(m[:, lo:hi].T, columns=list("ACGT"),
                              index=np.arange(lo - c, hi - c))
            logomaker.Logo(df, ax=ax, color_scheme="classic", show_spines=False)
            ax.axvline(0, color="0.6", lw=0.6, ls=":")
            ax.set_ylim(-lim, lim)
            ax.set_ylabel(label, fontsize=7)
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_title(f"{r.task} #{r.rank}: {r.chrom}:{r.pos} {r.ref}>{r.alt}  "
                             f"effect {r.effect:+.2f}  {motif}", fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --------------------------------------------------------------------------- outputs


def info_key(what: str, task: str | None = None) -> str:
    """The INFO key of a score: ``SEQCNN_EFFECT_CTCF`` (characters other than letters,
    digits, ``_`` and ``.`` become ``_``)."""
    key = f"SEQCNN_{what}" + (f"_{task}" if task is not None else "")
    return re.sub(r"[^A-Za-z0-9_.]", "_", key)


class TsvWriter:
    """The variant table as gzipped TSV, chunk by chunk (gzip with no time stamp: the same
    input gives the same bytes)."""

    def __init__(self, path: str | os.PathLike, columns: Sequence[str]) -> None:
        self._raw = open(path, "wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0, filename="")
        self._fh = io.TextIOWrapper(self._gz, encoding="utf-8", newline="")
        self.columns = list(columns)
        self._fh.write("\t".join(self.columns) + "\n")

    def write(self, table: pd.DataFrame) -> None:
        table[self.columns].to_csv(self._fh, sep="\t", header=False, index=False,
                                   float_format="%.6g")

    def close(self) -> None:
        self._fh.close()
        self._raw.close()


class VcfWriter:
    """The scored alleles as a sites-only VCF (bgzipped; tabix-indexed on :meth:`close`):
    one record per ALT allele with the input record's QUAL, FILTER and INFO (per-allele
    ``Number=A``/``R`` values cut to the allele, ``Number=G`` left out) and the scores as
    INFO fields declared in the header (:func:`info_key`). Chromosomes carry the genome's
    names (after ``chrom_aliases``)."""

    def __init__(self, source: str | os.PathLike, path: str | os.PathLike,
                 tasks: Sequence[str], contigs: Mapping[str, int]) -> None:
        import pysam

        self.tasks, self.path = list(tasks), str(path)
        self._src = pysam.VariantFile(str(source))
        self._records = enumerate(self._src)
        self._current: tuple[int, object] | None = None
        header = pysam.VariantHeader()
        for rec in self._src.header.records:
            if rec.type in ("FORMAT",) or (rec.type == "INFO" and rec["ID"].startswith(
                    "SEQCNN_")):
                continue
            header.add_record(rec)
        for name, length in contigs.items():
            if name not in header.contigs:
                header.contigs.add(name, length=length)
        for task in self.tasks:
            for what, text in (("REF", "probability of the reference allele"),
                               ("ALT", "probability of the alternative allele"),
                               ("EFFECT", "log-odds difference alt - ref (both strands)")):
                header.info.add(info_key(what, task), 1, "Float",
                                f"seqcnn: task {task}: {text}")
        header.info.add(info_key("MAX"), 1, "Float", "seqcnn: largest |effect| over tasks")
        header.info.add(info_key("MAX_TASK"), 1, "String", "seqcnn: task of the largest |effect|")
        self._number = {k: v.number for k, v in self._src.header.info.items()}
        self._out = pysam.VariantFile(self.path, "wz", header=header)

    def _record(self, i: int):
        while self._current is None or self._current[0] < i:
            self._current = next(self._records)
        return self._current[1]

    def _info(self, rec, k: int) -> dict:
        info = {}
        for key, value in rec.info.items():
            number = self._number.get(key)
            if number == "A":
                value = value[k - 1]
            elif number == "R":
                value = (value[0], value[k])
            elif number == "G" or key.startswith("SEQCNN_"):
                continue
            info[key] = value
        return info

    def write(self, table: pd.DataFrame, scores: pd.DataFrame) -> None:
        """Write the alleles of ``table`` (:data:`~seqcnn.data.variants.COLUMNS`) with their
        rows of ``scores`` (:func:`effect_table`), in input order."""
        keys = [(info_key(w.upper(), t), f"{w}_{t}") for t in self.tasks
                for w in ("ref", "alt", "effect")]
        names = [k for k, _ in keys] + [info_key("MAX"), info_key("MAX_TASK")]
        values = zip(*(scores[c].to_numpy(np.float64).tolist() for _, c in keys),
                     scores["max_abs_effect"].to_numpy(np.float64).tolist(),
                     scores["max_task"].astype(str).tolist(), strict=True)
        rows = zip(*(table[c].tolist() for c in ("chrom", "pos", "id", "ref", "alt",
                                                  "record", "allele")), values, strict=True)
        for chrom, pos, vid, ref, alt, record, allele, vals in rows:
            src = self._record(record)
            info = self._info(src, allele)
            info.update(zip(names, vals, strict=True))
            rec = self._out.new_record(
                contig=chrom, start=pos - 1, alleles=(ref, alt),
                id=None if vid == "." else vid, qual=src.qual,
                filter=list(src.filter.keys()) or None, info=info)
            self._out.write(rec)

    def close(self) -> None:
        """Close the file and index it (tabix, ``.tbi``); an unsorted input is an
        :class:`~seqcnn.errors.InputError`."""
        import pysam

        from seqcnn.errors import InputError

        self._out.close()
        self._src.close()
        try:
            pysam.tabix_index(self.path, preset="vcf", force=True)
        except OSError as err:
            raise InputError(
                f"{self.path}: cannot be tabix-indexed ({err}): the input VCF is not sorted "
                "by position within each chromosome; sort it (bcftools sort) and run again"
            ) from err


__all__ = ["TOP_COLUMNS", "TopVariants", "TsvWriter", "VcfWriter", "attribution_query",
           "chunk_logits", "effect_table", "explain", "fast_pays", "info_key", "ism_maps",
           "name_motifs", "plot_top_variants", "score_chunks", "score_columns", "snv_logits",
           "snv_path", "snv_sites", "strand_logits", "unique_positions"]
