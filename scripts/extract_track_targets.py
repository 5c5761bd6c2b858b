"""Read the dataset's bigWig tracks (or controls) over one split's regions into
``{split}.targets.npy`` (or ``.controls.npy``) beside the one-hot, rows in the regions'
order, with a JSON of totals and positions without a value (seqcnn.data.tracks)."""

import json

from seqcnn.data import regions as rg
from seqcnn.data.genome import chrom_sizes
from seqcnn.data.tracks import track_settings, write_track_targets
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
signal, split = sm.wildcards.signal, sm.wildcards.split
log = get_logger("extract_track_targets", sm.log[0])
what = "tracks" if signal == "targets" else "controls"
settings = track_settings(cfg, key=f"datasets.{sm.wildcards.dataset}")
sizes = chrom_sizes(sm.input.fai)
aliases = rg.read_chrom_aliases(sm.input.aliases[0], sizes) if sm.input.aliases else None
with open(sm.input.regions) as fh:
    n = sum(1 for _ in fh) - 1
chunks = rg.read_regions(sm.input.regions, chunksize=cfg["chunk_size"])
stats = write_track_targets(cfg[what], chunks, n, settings, sm.output.array, sizes, aliases,
                            what)
log.info("%s: %d regions -> %s %s (target %s, output_len %d, bin_size %s); %d '-' strand "
         "rows reversed", split, stats.n, sm.output.array, stats.shape, settings.target,
         settings.output_len, settings.bin_size, stats.minus_strand)
for track, total in stats.totals.items():
    (log.warning if stats.nan_bp[track] else log.info)(
        "%s %s: total %.1f; %d bp without a value in the bigWig read as 0", what, track,
        total, stats.nan_bp[track])
with open(sm.output.stats, "w") as fh:
    json.dump({"split": split, "signal": signal, "target": settings.target,
               "output_len": settings.output_len, "bin_size": settings.bin_size,
               **stats.to_dict()}, fh, indent=2)
