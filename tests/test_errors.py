"""seqcnn.errors: the SeqcnnError family."""

from seqcnn.errors import InputError, SeqSetError


def test_seqset_error_is_an_input_error():
    assert issubclass(SeqSetError, InputError) and issubclass(SeqSetError, ValueError)


def test_sigterm_ends_the_log_with_a_failed_line(tmp_path):
    """A job cancelled or past its SLURM time limit gets SIGTERM: the script's log still ends
    with the one plain FAILED line that says so (it used to stop mid-log)."""
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "rule.log"
    ready = tmp_path / "ready"
    code = ("import sys, time, pathlib\n"
            "from seqcnn.logs import get_logger\n"
            "log = get_logger('train_model', sys.argv[1])\n"
            "log.info('epoch 1/10')\n"
            "pathlib.Path(sys.argv[2]).touch()\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(log), str(ready)],
                            stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        if ready.exists():
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    last = log.read_text().splitlines()[-1]
    assert " ERROR FAILED: stopped by SIGTERM: the job was cancelled or ran past its time " \
           "limit" in last, log.read_text()
    assert "--set-resources <rule>:runtime=<minutes>" in last
    assert "FAILED: stopped by SIGTERM" in err


def test_a_forked_child_dies_of_sigterm_as_before(tmp_path):
    """A process forked after get_logger (a DataLoader worker) is not turned into a second
    failing script: it dies of SIGTERM, and the log gets no FAILED line from it."""
    import subprocess
    import sys

    log = tmp_path / "rule.log"
    code = ("import os, signal, sys, time\n"
            "from seqcnn.logs import get_logger\n"
            "log = get_logger('train_model', sys.argv[1])\n"
            "r, w = os.pipe()\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.write(w, b'x')\n"
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            "os.read(r, 1)\n"
            "os.kill(pid, signal.SIGTERM)\n"
            "_, status = os.waitpid(pid, 0)\n"
            "print(os.WIFSIGNALED(status), os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1)\n"
            "log.info('parent carries on')\n")
    out = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "15"]
    text = log.read_text()
    assert "FAILED" not in text and text.rstrip().endswith("parent carries on")
