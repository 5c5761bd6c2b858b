"""Extract and one-hot encode one split's regions into the memory-mappable cache, with the
split's row ids (``{split}.ids.tsv``)."""

import json

from tqdm import tqdm

from seqcnn.data import regions as rg
from seqcnn.data.cache import write_cache
from seqcnn.data.genome import Genome
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("build_cache", sm.log[0])
with open(sm.input.regions) as fh:
    n = sum(1 for _ in fh) - 1
tasks = rg.task_columns(rg.read_regions(sm.input.regions, chunksize=1).get_chunk())
chunks = rg.read_regions(sm.input.regions, chunksize=cfg["chunk_size"])
with tqdm(total=n, unit="region", desc=f"cache {sm.wildcards.split}", mininterval=2) as bar:
    stats = write_cache(Genome(sm.input.fasta), chunks, n, tasks, sm.output.onehot,
                        sm.output.labels, cfg["seq_len"], cfg["alphabet"], cfg["seed"],
                        progress=bar, ids_path=sm.output.ids)
log.info("%s: %d regions -> %s (%.1f MB); positives %s; ambiguous (label 255) %s",
         sm.wildcards.split, stats.n, sm.output.onehot, stats.bytes / 1e6,
         ", ".join(f"{t} {k}" for t, k in stats.positives.items()),
         ", ".join(f"{t} {k}" for t, k in stats.ambiguous.items()))
with open(sm.output.stats, "w") as fh:
    json.dump({"split": sm.wildcards.split, "n": stats.n, "positives": stats.positives,
               "ambiguous": stats.ambiguous, "sha256": stats.sha256, "bytes": stats.bytes,
               "strands": stats.strands},
              fh, indent=2)
