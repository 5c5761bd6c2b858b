"""seqcnn.train.cli: train() arguments from JSON, in this process or under torchrun
(seqcnn.train.distributed.run_distributed launches it)."""

import json

import numpy as np
import pytest
import torch

from seqcnn.alphabet import one_hot_codes
from seqcnn.train.cli import main, train_arguments
from seqcnn.train.distributed import DistributedTrainingError, launch_command, run_distributed
from seqcnn.train.loop import TrainPaths

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
