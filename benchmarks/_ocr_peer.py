"""A worker that reads numbers with an OCR peer, for ``benchmarks/reading.py``.

Usage (``reading.py`` starts it; it is not meant to be run by hand)::

    PYTHON benchmarks/_ocr_peer.py rapidocr
    PYTHON benchmarks/_ocr_peer.py tesseract

It runs in whichever interpreter has the peer installed (RapidOCR lives in
the benchmark's own optional environment, never in hdrnn's). The first line
it writes is a JSON object naming the peer and its version; then, for every
PNG path it reads on standard input (one a line), it answers one JSON line
``{"text": ..., "seconds": ...}``: the digits the peer read (lines of a
detection joined left to right, anything but digits dropped) and the time
the peer took, from the file to the text. An empty input line ends it.

Standard library only, besides the peer itself.
"""

import json
import re
import shutil
import subprocess
import sys
import time

# Tesseract: one line of text (page segmentation mode 7), digits only.
TESSERACT_ARGS = ("--psm", "7", "-c", "tessedit_char_whitelist=0123456789")


def tesseract_reader():
    """``(version, read)`` for the ``tesseract`` binary (Debian's ``tesseract-ocr``)."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise SystemExit("tesseract not found; install it with: apt-get install -y tesseract-ocr")
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True
    ).stdout.split("\n")[0]

    def read(path):
        done = subprocess.run(
            [binary, path, "stdout", *TESSERACT_ARGS], capture_output=True, text=True, check=False
        )
        return done.stdout

    return version, read


def rapidocr_reader():
    """``(version, read)`` for RapidOCR (``pip install rapidocr onnxruntime``), recognition only."""
    from importlib.metadata import version

    from rapidocr import RapidOCR

    engine = RapidOCR()

    def read(path):
        # The image is already one line of text: the recogniser reads it whole. With the
        # detector first, 48 photographed MNIST numbers (2026-12-05) read 5 exactly at 2.5 s
        # each (it found no text in 35 of them); the recogniser alone read 27 at 43 ms.
        result = engine(path, use_det=False, use_cls=False, use_rec=True)
        return "".join(result.txts or ())

    names = f"rapidocr {version('rapidocr')}, onnxruntime {version('onnxruntime')}"
    return names, read


READERS = {"tesseract": tesseract_reader, "rapidocr": rapidocr_reader}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in READERS:
        raise SystemExit(f"usage: _ocr_peer.py {{{','.join(READERS)}}}; got {argv}")
    version, read = READERS[argv[0]]()
    print(json.dumps({"peer": argv[0], "version": version}), flush=True)
    for line in sys.stdin:
        path = line.strip()
        if not path:
            break
        start = time.perf_counter()
        text = read(path)
        seconds = time.perf_counter() - start
        print(json.dumps({"text": re.sub(r"\D", "", text), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
