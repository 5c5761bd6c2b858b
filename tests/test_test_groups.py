"""The test suite's own scheduling: ``make test`` runs pytest-xdist with ``--dist loadgroup``,
and the tests of an ``xdist_group`` (those sharing a module or session fixture, such as
conftest.tiny_build) must land on one worker, or each worker builds the fixture again.

pytest 9.2.0 with pytest-xdist 3.8.0 loses the groups silently (pytest-xdist issue #1386:
the group is written into the legacy ``_nodeid`` field, which pytest 9.2 no longer reads);
requirements.txt pins a pytest that keeps them.
"""

from __future__ import annotations

import os
import subprocess
import sys

SUITE = '''
import os
import pytest

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(6))
def test_grouped(i):
    with open(os.environ["WORKERS_FILE"], "a") as fh:
        fh.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")

@pytest.mark.parametrize("i", range(6))
def test_free(i):
    pass
'''


def test_an_xdist_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_suite.py").write_text(SUITE)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist",
         "loadgroup", "--basetemp", str(tmp_path / "base"), "-q", "-m", "",
         "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path / "test_suite.py")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "WORKERS_FILE": str(tmp_path / "workers.txt")})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
