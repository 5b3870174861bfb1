"""Runs many AWS CLI commands in one Python process, for tests that drive dozens of failing calls.

Each line on stdin is a JSON list of arguments (what follows `aws`); for each, the AWS CLI's own
entry point runs, exactly as the `aws` script does (awscli.clidriver.main(): a new driver and
botocore session per command, reading the environment afresh), with its stdout and stderr
captured; one JSON line {"status", "stdout", "stderr"} answers each, in order. Only the Python
start-up and the module imports are shared, which is what makes a call cost ~0.05 s instead of
~0.5 s. The test checks that a few commands print the same through the `aws` executable.
"""
import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver

for line in sys.stdin:
    argv = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = create_clidriver().main(argv)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
    sys.__stdout__.write(json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    sys.__stdout__.flush()
