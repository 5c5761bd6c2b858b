"""seqcnn.train.datasets and seqcnn.train.loop: tiny models on tiny synthetic caches, CPU only;
prediction and training with Targets and lengths (padding masks)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from conftest import MIXED, SS, secondary_structure
from seqcnn.alphabet import one_hot_codes, reverse_complement
from seqcnn.data.cache import load_cache
from seqcnn.data.targets import Targets
from seqcnn.evaluate.metrics import accuracy_metrics, class_metrics
from seqcnn.models import build_model, from_checkpoint
from seqcnn.train.datasets import (
    CacheDataset,
    EpochBatchSampler,
    augment_batch,
    make_loader,
    random_bits,
    shift_batch,
)
from seqcnn.train.loop import (
    LOG_COLUMNS,
    NonFiniteLossError,
    TrainConfig,
    TrainPaths,
    class_weights,
    predict,
    resolve_device,
    resolve_num_workers,
    resolve_precision,
    task_metrics,
    train,
)

TINY = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}
FAST = {"epochs": 3, "batch_size": 16, "patience": 0, "seed": 3}


def write_cache(directory, split: str, onehot: np.ndarray, labels: np.ndarray):
    """Write a cache split as the workflow does (``.npy``), return the two paths."""
    directory.mkdir(parents=True, exist_ok=True)
    x_path, y_path = directory / f"{split}.onehot.npy", directory / f"{split}.labels.npy"
    np.save(x_path, onehot.astype(np.uint8))
    np.save(y_path, labels.astype(np.uint8))
    return x_path, y_path


def random_onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return one_hot_codes(rng.integers(0, 4, size=(n, length)), 4)


def planted(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random DNA; task 0 positives carry ``TGACTCAG``, task 1 positives ``CCGCGGGA``
    (each at a random position, independently, about a third of the sequences each)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    motifs = [np.array([3, 2, 0, 1, 3, 1, 0, 2]), np.array([1, 1, 2, 1, 2, 2, 2, 0])]
    labels = (rng.random((n, 2)) < 0.35).astype(np.uint8)
    for t, motif in enumerate(motifs):
        for i in np.flatnonzero(labels[:, t]):
            at = rng.integers(0, length - len(motif))
            codes[i, at:at + len(motif)] = motif
    return one_hot_codes(codes, 4), labels


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    """A tiny planted-motif cache on disk: 192 train and 64 valid sequences of 40 bp."""
    d = tmp_path_factory.mktemp("cache")
    x, y = planted(256, 40, seed=1)
    return {
        "train": write_cache(d, "train", x[:192], y[:192]),
        "valid": write_cache(d, "valid", x[192:], y[192:]),
    }


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# --------------------------------------------------------------------------- data


def test_dataset_reads_memmap_without_loading(tiny_cache):
    ds = CacheDataset.from_files(*tiny_cache["train"])
    assert isinstance(ds.onehot, np.memmap) and isinstance(ds.labels, np.memmap)
    x, y = ds.get_batch([3, 0, 7])
    assert x.dtype == torch.uint8 and x.shape == (3, 4, 40) and y.shape == (3, 2)
    ref_x, ref_y = np.load(tiny_cache["train"][0]), np.load(tiny_cache["train"][1])
    assert np.array_equal(x.numpy(), ref_x[[3, 0, 7]])
    assert np.array_equal(y.numpy(), ref_y[[3, 0, 7]])
    # pickling (spawn/forkserver workers) maps the file again rather than copying it
    clone = pickle.loads(pickle.dumps(ds))
    assert isinstance(clone.onehot, np.memmap) and isinstance(clone.labels, np.memmap)
    assert len(pickle.dumps(ds)) < ref_x.nbytes // 4
    single_x, single_y = ds[5]
    assert single_x.shape == (4, 40) and np.array_equal(single_x.numpy(), ref_x[5])


def test_loader_yields_whole_batches_in_seeded_order(tiny_cache):
    ds = CacheDataset.from_files(*tiny_cache["train"])
    loader = make_loader(ds, 50, shuffle=True, drop_last=True, seed=7)
    assert len(loader) == 3
    loader.sampler.set_epoch(1)
    first = [y.clone() for _, y in loader]
    assert [len(y) for y in first] == [50, 50, 50]
    loader.sampler.set_epoch(1)
    assert all(torch.equal(a, b) for a, b in zip(first, (y for _, y in loader), strict=True))
    sampler = EpochBatchSampler(10, 4, shuffle=True, seed=7)
    sampler.set_epoch(1)
    a = sampler.order()
    sampler.set_epoch(2)
    assert sorted(a) == list(range(10)) and not np.array_equal(a, sampler.order())
    assert [len(i) for _, i in sampler] == [4, 4, 2]


def test_rc_augmentation_flips_about_half_exactly(tiny_cache):
    x = random_onehot(400, 30, seed=2)
    idx = np.arange(400)
    out = augment_batch(x, idx, epoch=1, seed=0, rc_augment=True)
    rc = reverse_complement(x)
    same = np.array([np.array_equal(out[i], x[i]) for i in idx])
    flipped = np.array([np.array_equal(out[i], rc[i]) for i in idx])
    assert (same | flipped).all()
    assert 150 < flipped.sum() < 250
    # a pure function of (seed, epoch, row): another batch composition gives the same rows
    again = augment_batch(x[idx[::-1]], idx[::-1], epoch=1, seed=0, rc_augment=True)
    assert np.array_equal(again[::-1], out)
    assert not np.array_equal(augment_batch(x, idx, epoch=2, seed=0, rc_augment=True), out)
    # through the dataset: labels untouched, x as computed above
    ds = CacheDataset(x, np.zeros((400, 1), np.uint8), rc_augment=True, seed=0)
    bx, _ = ds[(1, idx)]
    assert np.array_equal(bx.numpy(), out)


def test_jitter_keeps_length_and_shifts_content():
    x = random_onehot(64, 50, seed=3)
    shifted = shift_batch(x, np.array([2] + [0] * 62 + [-3]))
    assert shifted.shape == x.shape
    assert np.array_equal(shifted[0, :, 2:], x[0, :, :-2]) and not shifted[0, :, :2].any()
    assert np.array_equal(shifted[63, :, :-3], x[63, :, 3:]) and not shifted[63, :, -3:].any()
    assert np.array_equal(shifted[1:63], x[1:63])
    out = augment_batch(x, np.arange(64), epoch=0, seed=1, jitter=4)
    assert out.shape == x.shape and out.dtype == np.uint8
    assert (out.sum(axis=(1, 2)) >= 50 - 4).all()  # at most 4 positions zero-filled
    bits = random_bits(1, 0, np.arange(64), 2)
    shifts = (bits % np.uint64(9)).astype(int) - 4
    assert set(shifts) <= set(range(-4, 5)) and len(set(shifts)) > 5
    assert np.array_equal(out, shift_batch(x, shifts))
    with pytest.raises(ValueError, match="jitter"):
        CacheDataset(x, np.zeros((64, 1), np.uint8), jitter=50)


def test_class_weights_on_known_labels():
    labels = np.zeros((10, 3), np.uint8)
    labels[:2, 0] = 1  # 2 pos, 8 neg → 4
    labels[:5, 1] = 1  # 5/5 → 1
    # task 2 has no positives → 1
    assert np.allclose(class_weights(labels), [4.0, 1.0, 1.0])
    assert np.allclose(class_weights(labels, chunk=3), [4.0, 1.0, 1.0])


def test_precision_and_workers_resolve_per_device():
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("auto", "cuda") == "bf16"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_num_workers("auto", "cpu") == 0
    assert resolve_num_workers("auto", "cuda", threads=8) == 4


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without CUDA")
def test_device_resolves_to_the_cpu_without_cuda():
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda")


def test_train_config_rejects_unknown_and_bad_keys():
    assert TrainConfig.from_mapping({}).epochs == 50
    with pytest.raises(ValueError, match="'epoch'"):
        TrainConfig.from_mapping({"epoch": 3})
    with pytest.raises(ValueError, match="train.lr"):
        TrainConfig.from_mapping({"lr": -1})
    with pytest.raises(ValueError, match="train.precision"):
        TrainConfig.from_mapping({"precision": "fp8"})


# --------------------------------------------------------------------------- training


def test_outputs_log_columns_and_metadata(tiny_cache, tmp_path):
    res = train(TINY, tiny_cache["train"], tiny_cache["valid"], FAST, out_dir=tmp_path,
                tasks=["a", "b"], progress=False)
    lines = (tmp_path / "train_log.tsv").read_text().splitlines()
    assert tuple(lines[0].split("\t")) == LOG_COLUMNS
    assert len(lines) == 1 + 3
    rows = [dict(zip(LOG_COLUMNS, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert all(math.isfinite(float(r[c])) for r in rows for c in LOG_COLUMNS)
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    model = from_checkpoint(ckpt)
    assert ckpt["meta"]["receptive_field"] == model.receptive_field == res.receptive_field
    assert ckpt["meta"]["tasks"] == ["a", "b"] and ckpt["meta"]["best_epoch"] == res.best_epoch
    summary = (tmp_path / "model.json").read_text()
    assert '"receptive_field"' in summary and '"parameters"' in summary
    last = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 3
    assert {"model", "optimizer", "scheduler", "early_stopping", "rng"} <= set(last)
    assert {"torch", "numpy", "python"} <= set(last["rng"])
    # best weights are the returned model's and those in model.pt
    assert_same_weights(ckpt["state_dict"], res.model.state_dict())


def test_same_seed_gives_identical_weights(tiny_cache, tmp_path):
    cfg = {**FAST, "jitter": 3, "rc_augment": True}
    model = {**TINY, "dropout": 0.2}
    a = train(model, tiny_cache["train"], tiny_cache["valid"], cfg, out_dir=tmp_path / "a",
              progress=False)
    b = train(model, tiny_cache["train"], tiny_cache["valid"], cfg, out_dir=tmp_path / "b",
              progress=False)
    assert_same_weights(weights(tmp_path / "a/model.pt"), weights(tmp_path / "b/model.pt"))
    assert [r["train_loss"] for r in a.history] == [r["train_loss"] for r in b.history]
    c = train(model, tiny_cache["train"], tiny_cache["valid"], {**cfg, "seed": 4},
              out_dir=tmp_path / "c", progress=False)
    assert c.history[-1]["train_loss"] != a.history[-1]["train_loss"]


class Killed(Exception):
    pass


@pytest.mark.parametrize("where", ["after_epoch", "mid_epoch"])
def test_resume_after_kill_gives_identical_final_weights(tiny_cache, tmp_path, where):
    cfg = {**FAST, "epochs": 4, "jitter": 2, "lr_patience": 0, "lr_factor": 0.5}
    model = {**TINY, "dropout": 0.3}
    full = train(model, tiny_cache["train"], tiny_cache["valid"], cfg,
                 out_dir=tmp_path / "full", progress=False)

    def kill_after_epoch_2(epoch, row):
        if epoch == 2:
            raise Killed

    def kill_in_epoch_3(epoch, batch):
        if epoch == 3 and batch == 5:
            raise Killed

    hooks = ({"on_epoch_end": kill_after_epoch_2} if where == "after_epoch"
             else {"on_batch_end": kill_in_epoch_3})
    with pytest.raises(Killed):
        train(model, tiny_cache["train"], tiny_cache["valid"], cfg, out_dir=tmp_path / "cut",
              progress=False, **hooks)
    assert not (tmp_path / "cut/model.pt").exists()
    again = train(model, tiny_cache["train"], tiny_cache["valid"], cfg,
                  out_dir=tmp_path / "cut", progress=False)
    assert again.resumed_from == 2
    assert_same_weights(weights(tmp_path / "full/model.pt"), weights(tmp_path / "cut/model.pt"))
    last_full = torch.load(tmp_path / "full/checkpoints/last.pt", weights_only=True)
    last_cut = torch.load(tmp_path / "cut/checkpoints/last.pt", weights_only=True)
    assert_same_weights(last_full["model"], last_cut["model"])
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in again.history]
    lines = (tmp_path / "cut/train_log.tsv").read_text().splitlines()
    assert len(lines) == 1 + 4


def test_checkpoint_of_another_config_is_ignored(tiny_cache, tmp_path):
    train(TINY, tiny_cache["train"], tiny_cache["valid"], {**FAST, "epochs": 2},
          out_dir=tmp_path, progress=False)
    res = train(TINY, tiny_cache["train"], tiny_cache["valid"], {**FAST, "epochs": 2, "lr": 0.01},
                out_dir=tmp_path, progress=False)
    assert res.resumed_from is None and len(res.history) == 2


def test_nan_loss_names_epoch_and_batch(tiny_cache, tmp_path, monkeypatch):
    import seqcnn.train.loop as training

    built = []
    real_build = training.build_model
    monkeypatch.setattr(training, "build_model",
                        lambda *a, **k: built.append(real_build(*a, **k)) or built[-1])

    def poison(epoch, batch):  # NaN weights after batch 3 of epoch 2: batch 4's loss is NaN
        if epoch == 2 and batch == 3:
            with torch.no_grad():
                next(iter(built[-1].parameters())).fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match=r"epoch 2, batch 4") as err:
        train(TINY, tiny_cache["train"], tiny_cache["valid"], FAST, out_dir=tmp_path,
              progress=False, on_batch_end=poison)
    assert err.value.epoch == 2 and err.value.batch == 4
    assert "nan" in str(err.value)


def test_huge_learning_rate_diverges_with_clear_error(tiny_cache, tmp_path):
    model = {"arch": "dilated", "filters": 8, "first_kernel": 5, "layers": 3}
    with pytest.raises(NonFiniteLossError, match=r"at epoch \d+, batch \d+ \(lr 1e\+12\)"):
        train(model, tiny_cache["train"], tiny_cache["valid"], {**FAST, "lr": 1e12,
              "epochs": 5}, progress=False)


def test_early_stopping_stops_after_patience(tiny_cache, tmp_path):
    # lr 0 would be rejected; a tiny lr makes validation auPR stall after the first epoch
    cfg = {**FAST, "epochs": 20, "patience": 2, "lr": 1e-12, "lr_patience": 100}
    res = train(TINY, tiny_cache["train"], tiny_cache["valid"], cfg, out_dir=tmp_path,
                progress=False)
    scores = [r["valid_auprc"] for r in res.history]
    best = int(np.argmax(scores)) + 1
    assert res.stopped_early and res.best_epoch == best
    assert len(res.history) == best + 2
    assert len((tmp_path / "train_log.tsv").read_text().splitlines()) == 1 + len(res.history)
    # resuming a finished run trains no further and rewrites the same best weights
    again = train(TINY, tiny_cache["train"], tiny_cache["valid"], cfg, out_dir=tmp_path,
                  progress=False)
    assert again.resumed_from == len(res.history) and len(again.history) == len(res.history)
    assert_same_weights(res.model.state_dict(), again.model.state_dict())


def test_small_dilated_model_learns_planted_motifs(tmp_path):
    x, y = planted(1400, 60, seed=5)
    model = {"arch": "dilated", "filters": 16, "first_kernel": 9, "layers": 2}
    cfg = {"epochs": 8, "batch_size": 32, "lr": 0.005, "patience": 3, "seed": 0}
    res = train(model, (x[:1000], y[:1000]), (x[1000:1200], y[1000:1200]), cfg,
                progress=False)
    assert res.best_valid_auroc > 0.8
    auroc, _ = task_metrics(y[1200:], predict(res.model, x[1200:]))
    assert (auroc > 0.8).all(), auroc


def test_pwm_entropy_setting_sharpens_constrained_filters(tiny_cache, tmp_path):
    """train.pwm_entropy adds the PPMs' mean column entropy to the loss: the same run with
    it ends with lower-entropy PPMs; the logged train loss leaves the penalty out."""
    from seqcnn.models import pwm_entropy

    model = {**TINY, "pwm_constrained": True}
    cfg = {**FAST, "epochs": 2, "lr": 0.05}
    plain = train(model, tiny_cache["train"], tiny_cache["valid"], cfg, progress=False)
    sharp = train(model, tiny_cache["train"], tiny_cache["valid"], {**cfg, "pwm_entropy": 5.0},
                  progress=False)
    h_plain, h_sharp = pwm_entropy(plain.model).item(), pwm_entropy(sharp.model).item()
    assert h_sharp < h_plain - 0.1, (h_plain, h_sharp)
    assert sharp.history[0]["train_loss"] < 1.0  # BCE only: the penalty (about 6) is out
    with pytest.raises(ValueError, match="pwm_entropy"):
        train(model, tiny_cache["train"], tiny_cache["valid"], {**cfg, "pwm_entropy": -1})


def test_predict_reads_paths_and_averages_strands(tiny_cache):
    res = train(TINY, tiny_cache["train"], tiny_cache["valid"], {**FAST, "epochs": 1},
                progress=False)
    x, _ = load_cache(*tiny_cache["valid"])
    p = predict(res.model, tiny_cache["valid"][0])
    assert p.shape == (len(x), 2) and ((p > 0) & (p < 1)).all()
    p_rc = predict(res.model, reverse_complement(np.asarray(x)))
    both = predict(res.model, x, rc_average=True)
    logit = lambda q: np.log(q / (1 - q))  # noqa: E731
    assert np.allclose(logit(both), (logit(p) + logit(p_rc)) / 2, atol=1e-4)


def test_train_paths_layout(tmp_path):
    p = TrainPaths.in_dir(tmp_path)
    assert p.model == tmp_path / "model.pt" and p.checkpoint == tmp_path / "checkpoints/last.pt"


# --------------------------------------------------------------------------- lengths


def padded_planted(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """:func:`planted` sequences cut to random lengths (length/2 .. length), zero past the end;
    the motifs are planted again inside each length so the labels stay true."""
    rng = np.random.default_rng(seed)
    x, y = planted(n, length, seed)
    lengths = rng.integers(length // 2, length + 1, size=n).astype(np.int32)
    x = x * (np.arange(length)[None, :] < lengths[:, None])[:, None, :]
    motifs = [np.array([3, 2, 0, 1, 3, 1, 0, 2]), np.array([1, 1, 2, 1, 2, 2, 2, 0])]
    for t, motif in enumerate(motifs):
        for i in np.flatnonzero(y[:, t]):
            at = rng.integers(0, lengths[i] - len(motif) + 1)
            x[i, :, at:at + len(motif)] = one_hot_codes(motif[None, :], 4)[0]
    return x.astype(np.uint8), y, lengths


@pytest.fixture(scope="module")
def length_cache(tmp_path_factory):
    """A tiny cache with lengths on disk: 192 train, 64 valid sequences of up to 40 bp."""
    d = tmp_path_factory.mktemp("lengths")
    x, y, lengths = padded_planted(256, 40, seed=2)
    out = {}
    for split, rows in (("train", slice(0, 192)), ("valid", slice(192, None))):
        np.save(d / f"{split}.lengths.npy", lengths[rows])
        out[split] = (*write_cache(d, split, x[rows], y[rows]), d / f"{split}.lengths.npy")
    return out


def test_dataset_with_lengths_returns_them_and_pickles_by_name(length_cache):
    ds = CacheDataset.from_files(*length_cache["train"])
    assert isinstance(ds.lengths, np.memmap)
    x, y, lengths = ds.get_batch([4, 1])
    ref = np.load(length_cache["train"][2])
    assert lengths.dtype == torch.int64 and lengths.tolist() == ref[[4, 1]].tolist()
    assert x.shape == (2, 4, 40) and y.shape == (2, 2)
    clone = pickle.loads(pickle.dumps(ds))
    assert isinstance(clone.lengths, np.memmap) and np.array_equal(clone.lengths, ref)
    assert len(pickle.dumps(ds)) < ref.nbytes
    one = ds[3]
    assert len(one) == 3 and int(one[2]) == ref[3]
    # without lengths a dataset is unchanged: (x, y) pairs
    assert len(CacheDataset.from_files(*length_cache["train"][:2]).get_batch([0])) == 2
    for bad in ({"rc_augment": True}, {"jitter": 2}):
        with pytest.raises(ValueError, match="padding to the front"):
            CacheDataset.from_files(*length_cache["train"], **bad)
    with pytest.raises(ValueError, match="lengths must lie in 0..40"):
        CacheDataset(ds.onehot, ds.labels, lengths=np.full(192, 41))


def test_loader_with_lengths_groups_lengths_in_seeded_batches(length_cache):
    from seqcnn.train.batches import LengthGroupedBatchSampler
    from seqcnn.train.datasets import SortedBatchSampler

    ds = CacheDataset.from_files(*length_cache["train"])
    loader = make_loader(ds, 16, shuffle=True, drop_last=True, seed=5, pool=4)
    assert isinstance(loader.sampler, LengthGroupedBatchSampler) and len(loader) == 12

    def epoch(e):
        loader.sampler.set_epoch(e)
        return [lens.clone() for _, _, lens in loader]

    first = epoch(1)
    assert all(torch.equal(a, b) for a, b in zip(first, epoch(1), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, epoch(2), strict=True))
    spread = np.mean([int(b.max() - b.min()) for b in first])
    assert spread < 8  # lengths 20..40: random batches of 16 would span about 18
    assert sorted(torch.cat(first).tolist()) == sorted(np.asarray(ds.lengths).tolist())
    shard = make_loader(ds, 16, shuffle=True, seed=5, rank=1, world_size=2)
    assert isinstance(shard.sampler, EpochBatchSampler)
    ordered = make_loader(ds, 50, sort_by_length=True)
    assert isinstance(ordered.sampler, SortedBatchSampler)
    lens = torch.cat([b[2] for b in ordered])
    assert (lens[1:] >= lens[:-1]).all()
    assert np.array_equal(np.asarray(ds.lengths)[ordered.sampler.order()], lens.numpy())


def test_train_reads_a_cache_split_through_load_split(tiny_cache, tmp_path):
    """``{"cache": dir, "split": name}`` (what train_model.py and torchrun jobs pass) and a
    Split are read with load_split: the weights the arrays give; a missing part is named."""
    from seqcnn.data.cache import ManifestError, load_split, write_ids

    cache = tmp_path / "cache"
    for split in ("train", "valid"):
        x, y = (np.load(path) for path in tiny_cache[split])
        write_cache(cache, split, x, y)
        write_ids(cache / f"{split}.ids.tsv", [f"r{i}" for i in range(len(x))],
                  np.full(len(x), 40))
    cfg = {**FAST, "epochs": 1}
    train(TINY, {"cache": cache, "split": "train"}, load_split(cache, "valid"), cfg,
          out_dir=tmp_path / "split", progress=False)
    train(TINY, tiny_cache["train"], tiny_cache["valid"], cfg, out_dir=tmp_path / "files",
          progress=False)
    assert_same_weights(weights(tmp_path / "split/model.pt"),
                        weights(tmp_path / "files/model.pt"))
    (cache / "valid.ids.tsv").unlink()
    with pytest.raises(ManifestError, match=r"valid\.ids\.tsv: missing from the cache"):
        train(TINY, {"cache": cache, "split": "train"}, {"cache": cache, "split": "valid"},
              cfg, progress=False)


def test_genome_meta_records_binary_targets(tiny_cache, tmp_path):
    from seqcnn.data.targets import Targets

    train(TINY, tiny_cache["train"], tiny_cache["valid"], {**FAST, "epochs": 1},
          out_dir=tmp_path, tasks=["a", "b"], progress=False)
    meta = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]
    assert Targets.from_dict(meta["targets"]) == Targets.binary(["a", "b"])
    assert meta["output_names"] == ["a", "b"] and meta["lengths"] is False
    assert set(meta["pos_weight"]) == {"a", "b"}


def test_training_with_lengths_learns_and_turns_augmentation_off(length_cache, caplog):
    model = {"arch": "dilated", "filters": 8, "first_kernel": 9, "layers": 1}
    cfg = {**FAST, "epochs": 6, "lr": 0.01, "rc_augment": True, "jitter": 3}
    with caplog.at_level("WARNING", logger="seqcnn.train.loop"):
        res = train(model, length_cache["train"], length_cache["valid"], cfg, progress=False)
    assert any("turned off" in r.message for r in caplog.records)
    assert res.meta["padding"] == "zeros+mask" and res.meta["lengths"] is True
    # the recorded config is the one trained with (seqcnn.train.datasets.augmentation_for decides)
    assert res.meta["train"]["rc_augment"] is False and res.meta["train"]["jitter"] == 0
    assert res.best_valid_auroc > 0.7, res.history


@pytest.mark.parametrize("target", ["binary", "per_position"])
def test_resume_with_lengths_gives_identical_final_weights(length_cache, tmp_path, target):
    from seqcnn.data.targets import Targets

    cfg = {**FAST, "epochs": 4, "lr_patience": 0, "rc_augment": False}
    model = {**TINY, "dropout": 0.3}
    if target == "binary":
        data, targets = length_cache, None
    else:  # per-position labels: class 1 where the sequence reads G or T, 255 past the end
        data, targets = {}, Targets(("gt",), {"gt": "per_position"}, {"gt": ("AC", "GT")})
        for split, (x_path, _, l_path) in length_cache.items():
            x, lengths = np.load(x_path), np.load(l_path)
            y = (x[:, 2] + x[:, 3]).astype(np.uint8)
            y[np.arange(40)[None, :] >= lengths[:, None]] = 255
            data[split] = (x, y, lengths)
        model = {k: v for k, v in model.items() if k != "dropout"}
    full = train(model, data["train"], data["valid"], cfg, out_dir=tmp_path / "full",
                 targets=targets, progress=False)

    def kill(epoch, row):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        train(model, data["train"], data["valid"], cfg, out_dir=tmp_path / "cut",
              targets=targets, progress=False, on_epoch_end=kill)
    again = train(model, data["train"], data["valid"], cfg, out_dir=tmp_path / "cut",
                  targets=targets, progress=False)
    assert again.resumed_from == 2
    assert_same_weights(weights(tmp_path / "full/model.pt"), weights(tmp_path / "cut/model.pt"))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in again.history]
    # other lengths or another padding mode: the checkpoint is not reused
    x_path, y_path, l_path = length_cache["train"]
    other = np.load(l_path).copy()
    other[0] = 40
    moved = (np.load(x_path), np.load(y_path), other) if target == "binary" else \
        (*data["train"][:2], other)
    res = train(model, moved, data["valid"], {**cfg, "epochs": 2}, out_dir=tmp_path / "cut",
                targets=targets, progress=False)
    assert res.resumed_from is None


def test_rows_are_read_from_the_file_not_the_mapping(tmp_path):
    """read_rows (preadv, one call per run of consecutive rows) gives exactly what indexing
    the memmap gives, in the order asked, also in a pickled copy (a DataLoader worker)."""
    import pickle

    from seqcnn.train.datasets import read_rows

    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(500, 4, 37), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x[:, 0, :3].copy())
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    for idx in (rng.permutation(500)[:64], np.arange(100, 164), np.array([5, 6, 7, 3, 499, 0]),
                np.array([], dtype=np.int64)):
        np.testing.assert_array_equal(read_rows(mm, idx), x[idx])
    with pytest.raises(IndexError):
        read_rows(mm, np.array([500]))
    ds = CacheDataset.from_files(tmp_path / "x.npy", tmp_path / "y.npy")
    copy = pickle.loads(pickle.dumps(ds))
    idx = rng.permutation(500)[:50]
    for d in (ds, copy):
        xb, yb = d.get_batch(idx)
        np.testing.assert_array_equal(xb.numpy(), x[idx])
        np.testing.assert_array_equal(yb.numpy(), x[idx, 0, :3])


# --------------------------------------------------------------------------- ambiguous (255)


def with_ambiguous(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A copy of ``labels`` with about ``fraction`` of the entries set to 255 (ambiguous)."""
    out = labels.copy()
    out[np.random.default_rng(seed).random(labels.shape) < fraction] = 255
    return out


def test_class_weights_leave_out_ambiguous_labels():
    labels = np.full((10, 2), 255, np.uint8)
    labels[:2, 0], labels[2:6, 0] = 1, 0  # 2 pos, 4 neg, 4 ambiguous → 2
    labels[:3, 1] = 1  # 3 pos, no negatives → 1
    assert np.allclose(class_weights(labels), [2.0, 1.0])
    assert np.allclose(class_weights(labels, chunk=3), [2.0, 1.0])


def test_validation_metrics_leave_out_ambiguous_labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (200, 2)).astype(np.uint8)
    s = rng.normal(y.astype(float), 1.0)
    amb = with_ambiguous(y, 0.2, seed=1)
    auroc, auprc = task_metrics(amb, s)
    for j in range(2):
        keep = amb[:, j] != 255
        ref_roc, ref_pr = task_metrics(y[keep, j:j + 1], s[keep, j:j + 1])
        assert auroc[j] == ref_roc[0] and auprc[j] == ref_pr[0]


def test_loader_and_augmentation_pass_ambiguous_labels_through():
    x = random_onehot(64, 30, seed=4)
    labels = with_ambiguous(np.random.default_rng(5).integers(0, 2, (64, 3)).astype(np.uint8),
                            0.3, seed=6)
    ds = CacheDataset(x, labels, rc_augment=True, jitter=3, seed=1)
    loader = make_loader(ds, 16, shuffle=True, seed=2)
    loader.sampler.set_epoch(3)
    got = torch.cat([y for _, y in loader]).numpy()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, labels[loader.sampler.order()])


def test_training_ignores_ambiguous_labels_in_loss_and_validation(tmp_path):
    from sklearn.metrics import roc_auc_score

    x, y = planted(320, 40, seed=8)
    train_y, valid_y = with_ambiguous(y[:240], 0.25, seed=9), with_ambiguous(y[240:], 0.25, 10)
    res = train(TINY, (x[:240], train_y), (x[240:], valid_y), FAST, out_dir=tmp_path,
                tasks=["a", "b"], progress=False)
    assert all(math.isfinite(r[c]) for r in res.history for c in ("train_loss", "valid_loss"))
    probs = predict(res.model, x[240:], device="cpu")
    for j, task_auroc in enumerate(res.valid_auroc_per_task):
        keep = valid_y[:, j] != 255
        assert task_auroc == pytest.approx(roc_auc_score(valid_y[keep, j], probs[keep, j]),
                                           abs=1e-6)
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    assert ckpt["meta"]["pos_weight"] == pytest.approx(
        dict(zip(["a", "b"], class_weights(train_y).tolist(), strict=True)))


def test_augmentation_for_turns_both_off_with_lengths_only():
    from seqcnn.train.datasets import augmentation_for

    assert augmentation_for(True, 3, lengths=False) == (True, 3)
    assert augmentation_for(True, 3, lengths=True) == (False, 0)
    assert augmentation_for(False, 0, lengths=True) == (False, 0)


def padded_dna(n: int, min_len: int, max_len: int, seed: int):
    """Random DNA of lengths min_len..max_len, zero past each end: (n, 4, max_len), (n,)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n).astype(np.int32)
    x = one_hot_codes(rng.integers(0, 4, size=(n, max_len)), 4)
    return x * (np.arange(max_len)[None, :] < lengths[:, None])[:, None, :], lengths


@pytest.mark.parametrize("config", [
    {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 2, "pool": "global_max"},
    {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 2, "pool": "global_avg"},
    {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 2, "per_position": True},
])
def test_padded_length_grouped_batches_equal_each_sequence_alone(config):
    torch.manual_seed(0)
    x, lengths = padded_dna(23, 5, 40, seed=4)
    model = build_model(config, 4, 3, 40).eval()
    with torch.no_grad():  # non-zero biases so that padding would show if it leaked
        for p in model.parameters():
            p.add_(0.1)
    batched = predict(model, x, lengths=lengths, batch_size=4, device="cpu")
    for i in range(len(x)):
        alone = predict(model, x[i:i + 1, :, :lengths[i]], device="cpu")
        if config.get("per_position"):
            assert batched.shape == (23, 3, 40)
            np.testing.assert_allclose(batched[i, :, :lengths[i]], alone[0], rtol=1e-5,
                                       atol=1e-6)
            assert (batched[i, :, lengths[i]:] == 0).all()
        else:
            np.testing.assert_allclose(batched[i], alone[0], rtol=1e-5, atol=1e-6)


def test_unmasked_zeros_padding_is_seen_and_the_mask_hides_it():
    torch.manual_seed(1)
    config = {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 1,
              "pool": "global_avg"}
    x, lengths = padded_dna(6, 10, 20, seed=5)
    wide = np.zeros((6, 4, 60), np.uint8)
    wide[:, :, :20] = x
    model = build_model(config, 4, 2, 20).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2)
    out = {}
    for mode in ("zeros", "zeros+mask", "uniform"):
        out[mode] = [predict(model, a, lengths=lengths, padding=mode, device="cpu")
                     for a in (x, wide)]
    np.testing.assert_allclose(*out["zeros+mask"], rtol=1e-6)
    assert np.abs(out["zeros"][0] - out["zeros"][1]).max() > 1e-3  # depends on pad length
    assert np.abs(out["uniform"][0] - out["uniform"][1]).max() > 1e-3
    with pytest.raises(ValueError, match="rc_average"):
        predict(model, x, lengths=lengths, rc_average=True)


def test_per_position_model_learns_secondary_structure(tmp_path):
    x, y, lengths = secondary_structure(300, seed=0)
    model = {"arch": "dilated", "filters": 16, "first_kernel": 9, "layers": 3}
    cfg = {"epochs": 6, "batch_size": 16, "lr": 0.01, "patience": 0, "seed": 0}
    res = train(model, (x[:200], y[:200], lengths[:200]), (x[200:250], y[200:250],
                lengths[200:250]), cfg, targets=SS, out_dir=tmp_path, progress=False)
    assert res.model.config["per_position"] is True and res.model.n_tasks == 3
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    meta = ckpt["meta"]
    assert Targets.from_dict(meta["targets"]) == SS and meta["padding"] == "zeros+mask"
    assert meta["output_names"] == ["ss:H", "ss:E", "ss:C"]
    assert set(meta["valid_auprc_per_task"]) == set(meta["output_names"])
    probs = predict(res.model, x[250:], lengths=lengths[250:], targets=SS)
    assert probs.shape == (50, 3, 80)
    acc = accuracy_metrics(y[250:], probs, SS).iloc[0]
    # a model that ignores the sequence (or mis-aligns labels) stays near the majority class
    assert acc["n"] == lengths[250:].sum()
    assert acc["q3"] > acc["majority"] + 0.25 and acc["q3"] > 0.75, acc.to_dict()


def test_multiclass_and_binary_per_sequence_tasks_learn():
    """Family (a/b/c) = which of three motifs is planted; bound = a fourth motif present."""
    rng = np.random.default_rng(6)
    n, length = 900, 48
    lengths = rng.integers(24, length + 1, size=n).astype(np.int32)
    codes = rng.integers(0, 4, size=(n, length))
    motifs = [np.array(m) for m in ([3, 2, 0, 1, 3, 1], [1, 1, 2, 1, 2, 2],
                                    [0, 3, 0, 3, 2, 2], [2, 0, 2, 0, 1, 3])]
    family = rng.integers(0, 3, size=n)
    bound = (rng.random(n) < 0.4).astype(np.uint8)
    for i in range(n):
        starts = rng.choice(np.arange(0, lengths[i] - 6, 6), size=2, replace=False)
        codes[i, starts[0]:starts[0] + 6] = motifs[family[i]]
        if bound[i]:
            codes[i, starts[1]:starts[1] + 6] = motifs[3]
    x = one_hot_codes(codes, 4) * (np.arange(length)[None, :] < lengths[:, None])[:, None, :]
    y = np.stack([bound, family], axis=1).astype(np.uint8)
    model = {"arch": "dilated", "filters": 16, "first_kernel": 7, "layers": 1}
    cfg = {"epochs": 6, "batch_size": 32, "lr": 0.01, "patience": 0, "seed": 0}
    res = train(model, (x[:600], y[:600], lengths[:600]), (x[600:750], y[600:750],
                lengths[600:750]), cfg, targets=MIXED, progress=False)
    assert res.model.n_tasks == 4 and res.best_valid_auroc > 0.85
    probs = predict(res.model, x[750:], lengths=lengths[750:], targets=MIXED)
    assert probs.shape == (150, 4) and np.allclose(probs[:, 1:].sum(axis=1), 1)
    acc = accuracy_metrics(y[750:], probs, MIXED).iloc[0]
    assert acc["accuracy"] > 0.8, acc.to_dict()  # chance: about 1/3
    auc = class_metrics(y[750:], probs, MIXED, n_boot=0)
    assert (auc["auroc"] > 0.85).all(), auc


def test_per_position_needs_the_dilated_arch():
    x, y, lengths = secondary_structure(40, seed=1)
    split = (x, y, lengths)
    with pytest.raises(ValueError, match="need arch 'dilated'.*'deepbind'"):
        train({"arch": "deepbind"}, split, split, {"epochs": 1}, targets=SS, progress=False)
    with pytest.raises(ValueError, match="task 'task0'.*from_manifest"):  # default: binary
        train({"arch": "dilated"}, split, split, {"epochs": 1}, progress=False)


def test_shards_of_all_ranks_make_the_single_process_batch():
    whole = EpochBatchSampler(100, 32, seed=3, drop_last=True)
    parts = [EpochBatchSampler(100, 32, seed=3, rank=r, world_size=4) for r in range(4)]
    for s in (whole, *parts):
        s.set_epoch(7)
    assert len(whole) == 3 and all(len(p) == 3 for p in parts)
    for batch, *shards in zip(whole, *parts, strict=True):
        assert all(len(s[1]) == 8 for s in shards)
        np.testing.assert_array_equal(batch[1], np.concatenate([s[1] for s in shards]))
    with pytest.raises(ValueError, match="divisible"):
        EpochBatchSampler(100, 30, world_size=4)
    with pytest.raises(ValueError, match="divisible"):
        TrainConfig(batch_size=30, gpus=4)
    with pytest.raises(ValueError, match="gpus"):
        TrainConfig(gpus=-1)
