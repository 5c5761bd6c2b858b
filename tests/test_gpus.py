"""seqcnn.train.gpus: GPU claims through lock files (on the CPU, with a pretend count of
GPUs). The training command line: test_cli."""

import multiprocessing as mp
import os

import pytest

from seqcnn.train.gpus import ENV, GPUClaimTimeout, claim_gpus

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
