"""GPU claims through lock files (on the CPU, with a pretend count of GPUs), and the
training command line in one process and in two torchrun processes."""

import json
import multiprocessing as mp
import os

import numpy as np
import pytest
import torch

from seqcnn.alphabet import one_hot_codes
from seqcnn.train.cli import main, train_arguments
from seqcnn.train.distributed import DistributedTrainingError, launch_command, run_distributed
from seqcnn.train.gpus import ENV, GPUClaimTimeout, claim_gpus
from seqcnn.train.loop import TrainPaths

CTX = mp.get_context("fork")


@pytest.fixture(autouse=True)
def no_visible_devices(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def _hold(n, lock_dir, got, release, timeout=5.0):
    """Child: claim ``n`` of 4, report the indices and the variable, hold until told
    (as another job would: without the variable a claim in the parent set)."""
    os.environ.pop(ENV, None)
    try:
        with claim_gpus(n, 4, lock_dir, timeout=timeout, poll=0.05) as ids:
            got.put((ids, os.environ.get(ENV)))
            release.wait(10)
    except GPUClaimTimeout as exc:
        got.put(("timeout", str(exc)))


def test_two_processes_get_distinct_gpus(tmp_path):
    got, release = CTX.Queue(), CTX.Event()
    procs = [CTX.Process(target=_hold, args=(1, tmp_path, got, release)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [got.get(timeout=20) for _ in procs]
    release.set()
    for p in procs:
        p.join(10)
    (a, env_a), (b, env_b) = results
    assert len(a) == len(b) == 1 and a != b and {env_a, env_b} == {str(a[0]), str(b[0])}


def test_three_plus_two_of_four_waits_then_times_out_or_succeeds(tmp_path):
    with claim_gpus(3, 4, tmp_path, timeout=0) as ids:
        assert ids == [0, 1, 2] and os.environ[ENV] == "0,1,2"
        got, release = CTX.Queue(), CTX.Event()
        child = CTX.Process(target=_hold, args=(2, tmp_path, got, release, 0.3))
        child.start()
        kind, message = got.get(timeout=20)
        child.join(10)
        assert kind == "timeout"
        assert "could not claim 2 of 4 GPUs within 0.3 s" in message
        assert f"pid {os.getpid()}" in message and str(tmp_path) in message
        # a patient claimant gets its two once these three are released
        child = CTX.Process(target=_hold, args=(2, tmp_path, got, release, 20))
        child.start()
    ids, env = got.get(timeout=20)
    release.set()
    child.join(10)
    assert len(ids) == 2 and env == ",".join(map(str, ids))
    assert ENV not in os.environ


def test_preset_devices_no_gpus_and_bad_counts(tmp_path, monkeypatch):
    with claim_gpus(2, 4, tmp_path) as ids:
        assert ids == [0, 1]
    assert ENV not in os.environ
    with claim_gpus(1, 0, tmp_path) as ids:
        assert ids == [] and ENV not in os.environ
    with pytest.raises(ValueError, match="5 GPUs requested"):
        with claim_gpus(5, 4, tmp_path):
            pass
    monkeypatch.setenv(ENV, "3")
    with claim_gpus(2, 4, tmp_path) as ids:
        assert ids == [] and os.environ[ENV] == "3"
    assert os.environ[ENV] == "3"
    with claim_gpus(4, 4, tmp_path / "other") as ids:  # the preset value wins
        assert ids == []


# --------------------------------------------------------------------------- train_cli

MODEL = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}
TRAIN = {"epochs": 2, "batch_size": 32, "patience": 0, "seed": 5, "rc_augment": False,
         "device": "cpu", "num_workers": 0}


def _job(tmp_path, out):
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, size=(160, 30))
    labels = (rng.random((160, 1)) < 0.4).astype(np.uint8)
    codes[labels[:, 0] == 1, 10:16] = [3, 2, 0, 1, 3, 1]
    x = one_hot_codes(codes, 4).astype(np.uint8)
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    for split, rows in (("train", slice(0, 128)), ("valid", slice(128, None))):
        np.save(cache / f"{split}.onehot.npy", x[rows])
        np.save(cache / f"{split}.labels.npy", labels[rows])
    return {"model_config": MODEL, "config": TRAIN,
            "train_data": [cache / "train.onehot.npy", cache / "train.labels.npy"],
            "valid_data": [cache / "valid.onehot.npy", cache / "valid.labels.npy"],
            "paths": TrainPaths.in_dir(out), "tasks": ["motif"], "threads": 1}


def test_train_arguments_checks_keys(tmp_path):
    job = {**_job(tmp_path, tmp_path / "o"), "paths": {"model": str(tmp_path / "m.pt")}}
    job = json.loads(json.dumps(job, default=str))
    args, kwargs = train_arguments({**job, "kwargs": {"resume": False}, "log": "x.log"})
    assert args[0] == MODEL and len(args) == 3 and kwargs["config"] == TRAIN
    assert kwargs["resume"] is False
    assert isinstance(kwargs["paths"], TrainPaths) and kwargs["progress"] is False
    assert "log" not in kwargs and "kwargs" not in kwargs
    with pytest.raises(ValueError, match="unknown key.*'epochs'"):
        train_arguments({**job, "epochs": 3})
    with pytest.raises(ValueError, match="missing key.*valid_data"):
        train_arguments({k: v for k, v in job.items() if k != "valid_data"})


def test_cli_trains_in_this_process_and_logs_to_a_file(tmp_path):
    job = _job(tmp_path, tmp_path / "one")
    job["paths"] = {"model": str(tmp_path / "one" / "model.pt")}
    job["log"] = str(tmp_path / "one.log")
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job, default=str))
    threads = torch.get_num_threads()
    try:
        assert main(["--args", str(path)]) == 0
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "one" / "model.pt").exists()
    assert "best epoch" in (tmp_path / "one.log").read_text()


@pytest.mark.skipif(not torch.distributed.is_available()
                    or not torch.distributed.is_gloo_available(), reason="no gloo backend")
def test_run_distributed_two_cpu_processes_and_a_failing_job(tmp_path):
    assert launch_command(["-m", "seqcnn.train.cli", "--args", "j.json"], 2, python="py") == [
        "py", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "seqcnn.train.cli", "--args", "j.json"]
    log = tmp_path / "logs" / "train.log"
    run_distributed({**_job(tmp_path, tmp_path / "ddp"), "log": "ignored.log"}, 2, log)
    ckpt = torch.load(tmp_path / "ddp" / "model.pt", weights_only=True)
    assert ckpt["meta"]["processes"] == 2 and ckpt["meta"]["epochs_run"] == 2
    text = log.read_text()
    assert "torch.distributed.run" in text and "best epoch" in text
    assert "log" not in json.loads((tmp_path / "logs" / "train.log.args.json").read_text())

    # the worker's own plain message, naming where its traceback is
    with pytest.raises(DistributedTrainingError, match=r"unknown key\(s\) 'epochs'.*bad\.log"):
        run_distributed({**_job(tmp_path, tmp_path / "bad"), "epochs": 3}, 1,
                        tmp_path / "bad.log")
