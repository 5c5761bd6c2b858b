"""model.pt and checkpoints/last.pt: atomic writes, SHA-256 in model.json, one loader whose
errors name the file and the fix, and a corrupt last.pt moved aside on resume."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcnn.errors import CheckpointError
from seqcnn.models import build_model, checkpoint
from seqcnn.models.zoo import load_model, read_checkpoint
from seqcnn.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
TINY = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}
FAST = {"epochs": 2, "batch_size": 16, "patience": 0, "seed": 3}


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, 32))
    x = np.eye(4, dtype=np.uint8)[codes].transpose(0, 2, 1).copy()
    y = (rng.random((n, 1)) < 0.4).astype(np.uint8)
    return x, y


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": _data(96, 1), "valid": _data(32, 2)}


@pytest.fixture
def trained(data, tmp_path) -> Path:
    """A trained model directory: model.pt, model.json, checkpoints/last.pt."""
    train(TINY, data["train"], data["valid"], FAST, out_dir=tmp_path, progress=False)
    return tmp_path


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_model_json_holds_the_sha256_of_model_pt(trained):
    summary = json.loads((trained / "model.json").read_text())
    digest = hashlib.sha256((trained / "model.pt").read_bytes()).hexdigest()
    assert summary["model_sha256"] == digest
    assert load_model(trained / "model.pt").config["arch"] == "dilated"
    assert not list(trained.rglob("*.tmp*")), "temporary files left behind"


def test_truncated_model_pt_names_the_file_and_the_fix(trained):
    path = trained / "model.pt"
    _truncate(path)
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    text = str(err.value)
    assert str(path) in text
    assert f"snakemake --forcerun {path}" in text and "delete" in text
    assert isinstance(err.value, OSError)  # callers catching OSError keep working


def test_wrong_checksum_names_model_json(trained):
    other = build_model(TINY, alphabet_size=4, n_tasks=1, seq_len=32)
    torch.save(checkpoint(other), trained / "model.pt")  # a readable torch file, not ours
    with pytest.raises(CheckpointError, match=r"SHA-256") as err:
        read_checkpoint(trained / "model.pt")
    assert "model.json" in str(err.value) and str(trained / "model.pt") in str(err.value)


def test_not_a_torch_file(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("chr1\t10\t20\n")
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_model(path)


def test_missing_model_pt_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=re.escape(str(tmp_path / "model.pt"))):
        load_model(tmp_path / "model.pt")


def test_corrupt_last_pt_is_moved_aside_and_training_restarts(data, trained, tmp_path, caplog):
    last = trained / "checkpoints" / "last.pt"
    first = torch.load(trained / "model.pt", weights_only=True)["state_dict"]
    _truncate(last)
    broken = last.read_bytes()
    (trained / "model.pt").unlink()
    with caplog.at_level(logging.WARNING, logger="seqcnn.train.loop"):
        res = train(TINY, data["train"], data["valid"], FAST, out_dir=trained, progress=False)
    assert res.resumed_from is None and len(res.history) == FAST["epochs"]
    aside = last.with_name("last.pt.corrupt")
    assert aside.read_bytes() == broken
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(last) in warning and str(aside) in warning
    again = read_checkpoint(trained / "model.pt")["state_dict"]
    for k in first:
        assert torch.equal(first[k], again[k]), k
    assert torch.load(last, weights_only=True)["epoch"] == FAST["epochs"]


def test_a_crash_while_saving_keeps_the_old_file(data, trained, monkeypatch):
    import seqcnn.train.loop as tr

    last = trained / "checkpoints" / "last.pt"
    before = last.read_bytes()

    def crash(obj, f, *args, **kwargs):  # a kill half-way through writing
        if hasattr(f, "write"):
            f.write(b"partial")
        else:
            Path(f).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(tr.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        tr._atomic_save({"x": 1}, last)
    assert last.read_bytes() == before
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.pt"]


def test_scripts_read_model_pt_through_the_one_loader():
    """No script calls torch.load itself: model files go through load_model/read_checkpoint."""
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "scripts").glob("*.py"))
                 if "torch.load(" in p.read_text()]
    assert offenders == []
