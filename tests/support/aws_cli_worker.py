"""Runs Debian's AWS CLI (its own awscli.clidriver, as /usr/bin/aws does) for many commands in
one process: a test makes dozens of calls, and starting Python and importing botocore for each
costs more than the call. One request per line on stdin, one answer per line on stdout:
  {"env": {"AWS_ACCESS_KEY_ID": ...}, "argv": ["--endpoint-url", ..., "kinesisvideo", ...]}
  {"rc": 0, "out": "<stdout and stderr together>"}
Each command gets a fresh driver (a fresh botocore session reading the environment it is
given), so nothing but the imported modules carries over from one command to the next."""

import contextlib
import io
import json
import os
import sys
import traceback

from awscli.clidriver import create_clidriver


class _Merged(io.StringIO):
    # awscli writes some output as bytes through sys.stdout.buffer.
    @property
    def buffer(self):
        return _BytesInto(self)


class _BytesInto:
    def __init__(self, text):
        self._text = text

    def write(self, data):
        self._text.write(data.decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        pass


def run(request):
    saved = dict(os.environ)
    os.environ.update(request["env"])
    out = _Merged()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                rc = create_clidriver().main(request["argv"])
            except SystemExit as e:  # argparse's usage errors
                rc = e.code if isinstance(e.code, int) else 255
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()
                rc = 255
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"rc": rc, "out": out.getvalue()}


def main():
    sys.argv[0] = "aws"  # the name usage errors give, as /usr/bin/aws's
    answers = sys.stdout
    for line in sys.stdin:
        answers.write(json.dumps(run(json.loads(line))) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
