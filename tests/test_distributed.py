"""seqcnn.train.distributed: torchrun's environment and command; data-parallel training (two
CPU processes, gloo, follow one process's loss curve); a worker's failure ends the rule log
with its plain message."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from seqcnn.alphabet import one_hot_codes
from seqcnn.train.distributed import from_env, launch_command
from seqcnn.train.loop import train

MODEL = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}
# 128 training sequences, global batch 32: 4 full batches per epoch, 16 rows per process
TRAIN = {"epochs": 3, "batch_size": 32, "patience": 0, "seed": 5, "rc_augment": False,
         "jitter": 0, "device": "cpu", "num_workers": 0}

DRIVER = textwrap.dedent("""
    import json, sys
    import torch
    torch.set_num_threads(1)
    from seqcnn.train.loop import train
    cache, out, cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    result = train(json.loads(sys.argv[4]),
                   (f"{cache}/train.onehot.npy", f"{cache}/train.labels.npy"),
                   (f"{cache}/valid.onehot.npy", f"{cache}/valid.labels.npy"),
                   cfg, out_dir=out, progress=False)
    if result.meta["processes"] == 2 and torch.distributed.is_available():
        import os
        rank = int(os.environ["RANK"])
        with open(f"{out}/history.rank{rank}.json", "w") as fh:
            json.dump(result.history, fh)
""")


def _cache(directory):
    rng = np.random.default_rng(11)
    n, length = 192, 40
    codes = rng.integers(0, 4, size=(n, length))
    labels = (rng.random((n, 2)) < 0.4).astype(np.uint8)
    motif = np.array([3, 2, 0, 1, 3, 1])
    for i in np.flatnonzero(labels[:, 0]):
        at = rng.integers(0, length - len(motif))
        codes[i, at:at + len(motif)] = motif
    x = one_hot_codes(codes, 4).astype(np.uint8)
    directory.mkdir()
    for split, rows in (("train", slice(0, 128)), ("valid", slice(128, None))):
        np.save(directory / f"{split}.onehot.npy", x[rows])
        np.save(directory / f"{split}.labels.npy", labels[rows])
    return directory


def test_env_and_launch_command():
    assert not from_env({}).enabled
    info = from_env({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
    assert (info.world_size, info.rank, info.local_rank, info.is_main) == (2, 1, 1, False)
    cmd = launch_command(["scripts/x.py", "--a", 1], 2, python="py")
    assert cmd == ["py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                   "scripts/x.py", "--a", "1"]
    assert launch_command(["x.py"], 1, python="py") == ["py", "x.py"]


@pytest.mark.skipif(not torch.distributed.is_available()
                    or not torch.distributed.is_gloo_available(), reason="no gloo backend")
def test_two_cpu_processes_follow_the_single_process_loss_curve(tmp_path):
    cache = _cache(tmp_path / "cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = train(MODEL, (cache / "train.onehot.npy", cache / "train.labels.npy"),
                       (cache / "valid.onehot.npy", cache / "valid.labels.npy"), TRAIN,
                       out_dir=tmp_path / "single", progress=False)
    finally:
        torch.set_num_threads(threads)

    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "ddp"
    env = {k: v for k, v in os.environ.items()
           if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = launch_command([driver, cache, out, json.dumps({**TRAIN, "gpus": 2}),
                          json.dumps(MODEL)], 2)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ref = [r["train_loss"] for r in single.history]
    for rank in (0, 1):
        rows = json.loads((out / f"history.rank{rank}.json").read_text())
        np.testing.assert_allclose([r["train_loss"] for r in rows], ref, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([r["valid_loss"] for r in rows],
                                   [r["valid_loss"] for r in single.history],
                                   rtol=1e-4, atol=1e-5)
    # rank 0 alone wrote the outputs; the weights match the single-process run
    assert (out / "model.pt").exists() and (out / "train_log.tsv").exists()
    assert (out / "checkpoints" / "last.pt").exists()
    ddp = torch.load(out / "model.pt", weights_only=True)
    assert ddp["meta"]["processes"] == 2
    ref_state = single.model.state_dict()
    assert ddp["state_dict"].keys() == ref_state.keys()
    for k, v in ddp["state_dict"].items():
        torch.testing.assert_close(v, ref_state[k], rtol=1e-4, atol=1e-5)


def _last_line(path: Path) -> str:
    return path.read_text().rstrip("\n").splitlines()[-1]


def test_a_torchrun_worker_failure_ends_the_rule_log_with_its_message(tmp_path):
    """train.gpus > 1: the worker's plain message, not torchrun's traceback, is the last
    line of the rule's log (the workers' own output stays in ``<log>.torchrun``)."""
    x = np.zeros((8, 4, 20), dtype=np.uint8)
    x[:, 0] = 1
    y = np.zeros((8, 1), dtype=np.uint8)
    y[::2] = 1
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from seqcnn.train.distributed import run_distributed
        from seqcnn.logs import get_logger

        log = get_logger("train_model", sys.argv[1])
        data = [{str(tmp_path / "x.npy")!r}, {str(tmp_path / "y.npy")!r}]
        run_distributed({{"model_config": {{"arch": "dilatedd"}}, "train_data": data,
                          "valid_data": data, "tasks": ["A"],
                          "config": {{"epochs": 1, "batch_size": 4, "device": "cpu"}}}},
                        2, sys.argv[1] + ".torchrun", claim_gpus=False)
    """))
    log = tmp_path / "train.log"
    proc = subprocess.run([sys.executable, str(script), str(log)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0
    last = _last_line(log)
    assert " ERROR FAILED: " in last and "unknown arch 'dilatedd'" in last, log.read_text()
    assert f"{log}.torchrun" in last
    assert "ChildFailedError" not in last and "last lines" not in last
    assert "unknown arch 'dilatedd'" in proc.stderr.strip().splitlines()[-1]
