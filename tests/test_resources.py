"""Resource estimates: exact cache sizes, flat streaming memory, a quick epoch-time probe."""

import gzip
import io
import math
import time

import numpy as np
import pandas as pd
import pytest

from seqcnn.data.cache import write_cache
from seqcnn.workflow import resources as rs

TINY = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}


def test_cache_bytes_match_the_files_write_cache_writes(small_genome, tmp_path):
    genome, _ = small_genome
    n, length = 37, 100
    regions = pd.DataFrame({"chrom": "chr1", "start": np.arange(n) * 50, "name": ".",
                            "strand": "+", "source": "peak", "A": np.uint8(1),
                            "B": np.uint8(0)})
    regions["end"] = regions["start"] + length
    x_path, y_path = tmp_path / "x.npy", tmp_path / "y.npy"
    stats = write_cache(genome, [regions.iloc[:20], regions.iloc[20:]], n, ["A", "B"],
                        x_path, y_path, length)
    assert stats.bytes == rs.cache_bytes(n, length, 4, 2) == n * 4 * length + n * 2
    on_disk = x_path.stat().st_size + y_path.stat().st_size
    assert rs.cache_bytes(n, length, 4, 2, headers=True) == on_disk
    assert rs.cache_bytes(1_000_000, 500) == 2_000_000_000


@pytest.mark.parametrize("shape", [(0, 4, 1), (10**6, 4, 500), (10**12, 20, 10**6), (5, 0)])
def test_npy_header_length_is_numpys(shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False,
                                               "shape": shape})
    assert rs._npy_header_bytes(shape) == len(buf.getvalue())


def test_count_lines_plain_gzipped_and_data_only(tmp_path):
    text = "track name=x\n#comment\nchr1\t0\t10\n\nchr1\t5\t20\nchr2\t1\t2"
    plain = tmp_path / "a.bed"
    plain.write_text(text)
    gz = tmp_path / "a.bed.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(text + "\n")
    for path in (plain, gz):
        assert rs.count_lines(path) == 6
        assert rs.count_lines(path, data_only=True) == 3
    (tmp_path / "empty").write_text("")
    assert rs.count_lines(tmp_path / "empty") == 0
    big = tmp_path / "big.bed"
    big.write_text("chr1\t0\t1\n" * 300_000)  # more than one 1 MiB block
    assert rs.count_lines(big) == 300_000


def test_memory_estimates_grow_with_n_but_cache_building_is_flat():
    sizes = [10_000, 100_000, 1_000_000, 10_000_000]
    for rule in rs.RULES:
        est = [rs.estimate_mem_mb(rule, n, 500, n_tasks=2, model_config=TINY) for n in sizes]
        assert all(0 < a <= b for a, b in zip(est, est[1:], strict=False)), (rule, est)
    cache = [rs.estimate_mem_mb("build_cache", n, 500) for n in sizes]
    assert cache[-1] / cache[0] < 1.01
    train = [rs.estimate_mem_mb("train_model", n, 500, model_config=TINY) for n in sizes[:3]]
    assert (train[2] - train[1]) * 1e6 / 900_000 < 200  # < 200 bytes per sequence: memmapped
    # more chunk rows, a longer chromosome, a bigger batch or model: more memory
    assert rs.estimate_mem_mb("build_cache", 1000, 500, chunk_size=65536) > cache[0]
    assert rs.estimate_mem_mb("build_cache", 1000, 500, largest_chrom=10**9) > cache[0]
    assert (rs.estimate_mem_mb("train_model", 1000, 500, batch_size=1024)
            > rs.estimate_mem_mb("train_model", 1000, 500, batch_size=64))
    mapped = rs.estimate_mem_mb("train_model", 10**6, 500, model_config=TINY, mapped=True)
    assert mapped - train[-1] == pytest.approx(2000, abs=2)  # the 2 GB cache, in MB
    with pytest.raises(ValueError, match="unknown rule"):
        rs.estimate_mem_mb("train", 10, 10)


def test_activation_bytes_on_meta_and_the_fallback():
    small = rs.activation_bytes(TINY, 100, 8)
    assert small > 0 and rs.activation_bytes(TINY, 100, 16) == 2 * small
    assert rs.activation_bytes({"arch": "danq"}, 200, 4) > 0  # LSTM: not on meta
    assert rs.model_parameters(TINY, 100) > 0


def test_epoch_seconds_probe_is_quick_positive_and_finite():
    t = time.perf_counter()
    seconds = rs.epoch_seconds(10_000, 60, TINY, "cpu", batch_size=16, batches=2)
    assert math.isfinite(seconds) and seconds > 0
    assert time.perf_counter() - t < 10


def test_format_estimate():
    text = rs.format_estimate(1_000_000, 500, n_tasks=2, model_config=TINY, epoch_s=310.4)
    assert text.startswith("cache 2.0 GB on disk; build_cache ~")
    assert "train_model ~" in text and "interpret ~" in text
    assert text.endswith("train ~310 s/epoch on cpu")
    assert "cache 20.0 MB on disk" in rs.format_estimate(10_000, 500)
