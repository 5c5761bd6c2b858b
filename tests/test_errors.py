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
