"""The benchmarks' contenders, each in its own process, as users run them.

``run.py`` and ``race.py`` start one :class:`Worker` per contender: a Python
process that loads MNIST once and then answers requests (one JSON line in,
one JSON line out), so the parent can interleave the contenders inside every
repeat while each keeps its own BLAS threads, compiled kernels and memory.

Every worker runs with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed
from its environment: some development machines set them (they force
OpenBLAS onto its AVX2 kernels), users do not. Tests and CI leave them alone.

The contenders:

- ``hdrnn``: hdrnn with its optional ``fast`` extra (numba) when installed;
- ``hdrnn NumPy only``: the same code with ``HDRNN_NUMBA=0``, what a plain
  ``pip install hdrnn`` runs;
- ``MLPClassifier``: scikit-learn's, on the same float32 (or float64) array;
- ``PyTorch``: the same network, fused Adam, the same L2 penalty;
- ``floor``: the matrix products of the same computation at the same shapes
  and nothing else (NumPy, so the same OpenBLAS as hdrnn).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Compatibility settings some development machines have and users do not.
DEVELOPER_ONLY_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

CONTENDER_ENVIRONMENTS = {
    "hdrnn": {"HDRNN_NUMBA": "1"},
    "hdrnn NumPy only": {"HDRNN_NUMBA": "0"},
    "MLPClassifier": {},
    "PyTorch": {},
    "floor": {},
}


def user_environment(**extra):
    """``os.environ`` without the developer-only variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in DEVELOPER_ONLY_VARIABLES}
    env.update(extra)
    return env


class WorkerError(RuntimeError):
    """A request failed inside a worker; the message carries its traceback."""


class Worker:
    """One contender's own Python process, answering requests one at a time.

    Parameters
    ----------
    name : str
        A key of :data:`CONTENDER_ENVIRONMENTS`.
    data_dir : path
        The folder of the MNIST IDX files.
    """

    def __init__(self, name, data_dir):
        self.name = name
        command = [sys.executable, str(Path(__file__).with_name("_worker.py")), str(data_dir)]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=user_environment(**CONTENDER_ENVIRONMENTS[name]),
        )

    def call(self, task, **arguments):
        """Run ``task`` in the worker; return its JSON answer as a dict."""
        request = {"task": task, "contender": self.name, **arguments}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise WorkerError(f"the {self.name} worker exited (code {self._process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"{self.name}: {task} failed:\n{answer['error']}")
        return answer

    def close(self):
        """Ask the worker to exit and wait for it."""
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=60)


def torch_installed():
    """bool: whether PyTorch can be imported (without importing it here)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


# Idle time before each timed request. OpenBLAS's and PyTorch's worker
# threads keep spinning for up to ~0.2 s after their last job; without a
# pause they would steal the start of the next contender's run.
SETTLE_SECONDS = 0.5


def interleaved(workers, repeats, task, **arguments):
    """Run ``task`` on every worker ``repeats`` times, rotating the order.

    Returns
    -------
    answers : dict of str to list of dict
        Each worker's answers, in repeat order.
    """
    answers = {worker.name: [] for worker in workers}
    for repeat in range(repeats):
        shift = repeat % len(workers)
        for worker in workers[shift:] + workers[:shift]:
            time.sleep(SETTLE_SECONDS)
            answers[worker.name].append(worker.call(task, **arguments))
    return answers


def main(argv=None):
    """Ask one contender for a single answer (a quick check of a worker)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=list(CONTENDER_ENVIRONMENTS))
    parser.add_argument("task")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("HDRNN_MNIST_DIR"))
    parser.add_argument("--arguments", default="{}", help="the task's arguments, as JSON")
    args = parser.parse_args(argv)
    worker = Worker(args.contender, args.data_dir)
    try:
        print(json.dumps(worker.call(args.task, **json.loads(args.arguments)), indent=1))
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
