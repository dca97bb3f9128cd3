"""Accuracy and time of reading whole numbers: hdrnn against the OCR peers.

Usage::

    python benchmarks/reading.py --data-dir path/to/mnist [--numbers 100] [--seed 0] \\
        [--peer-python .venv-peers/bin/python] [--peers tesseract,rapidocr] \\
        [--model mnist.hdrnn] [--trust-pickle] [--zoom 1] [--note TEXT] \\
        [--out benchmarks/reading.md]

The test set is generated here from a seed, never shipped. Numbers of 2-10
digits, ``--numbers`` of each spacing kind (apart, close, touching,
overlapping) for each kind of writer:

- ``MNIST test``: MNIST's **test** digits (never its training digits),
  composed with ``hdrnn.datasets.synthetic.make_numbers``;
- ``strokes`` and ``fonts``: writers who are not in MNIST, one per number
  (``synthetic.make_writer_numbers``: random pen-stroke writers, and the
  installed handwriting fonts).

Each number is read as clean ink (dark on white) and photographed
(``synthetic.photograph``: paper, shading, ink level, noise, blur, JPEG).
Digits are MNIST's size (about 20 pixels tall); ``--zoom`` scales the ink
before the photo, as a closer photo would.
Every contender gets the same images (the number's line as one image; the
peers get it as a PNG file) and the same truths: hdrnn
(``hdrnn.reading.read_number``, the shipped model unless ``--model``),
Tesseract (the ``tesseract`` binary, ``--psm 7``, digits whitelist) and
RapidOCR (its recogniser on the line, in the interpreter of
``--peer-python``: an environment of its own, never hdrnn's), each when
installed. The peers run in worker processes (``_ocr_peer.py``). The
contenders take turns group by group (one writer kind, spacing and look),
so that load on the machine hits them alike.

Reported per writer kind, spacing kind and look: the share of numbers read
exactly, the share of digits read right (position by position; a number
read with a digit too many or too few counts all its digits wrong) and the
mean milliseconds per number (hdrnn: inside Python, from the array;
peers: the worker's time from the PNG path to the text, which for Tesseract
includes starting its process). Then the ``hdrnn read`` command itself reads
``--command-images`` of the photographed numbers as PNG files, timed from
starting the command to its exit (start-up and loading the models
included; the median of three runs). ``--out`` writes the report as
markdown and its figures as JSON beside it (same name, ``.json``).
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from contenders import SETTLE_SECONDS
from scipy import ndimage

import hdrnn
from hdrnn import DigitMLPClassifier, load, load_mnist
from hdrnn.datasets import synthetic
from hdrnn.reading import read_number

HERE = Path(__file__).resolve().parent
PEER_WORKER = HERE / "_ocr_peer.py"
WRITERS = ("MNIST test", "strokes", "fonts")
LOOKS = ("ink", "photo")
# Display names, in the table's order.
CONTENDERS = {"hdrnn": "hdrnn", "rapidocr": "RapidOCR", "tesseract": "Tesseract"}
# The targets for exact numbers on photographed numbers, by spacing kind.
TARGETS = {"apart": 0.95, "close": 0.93, "touching": 0.85, "overlapping": 0.85, "all": 0.93}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="MNIST IDX folder")
    parser.add_argument("--model", type=Path, help="a model file (default: the shipped one)")
    parser.add_argument("--trust-pickle", action="store_true", help="--model is a joblib file")
    parser.add_argument(
        "--numbers", type=int, default=100, help="numbers per spacing kind per writer kind"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5, help="epochs if a model is trained")
    parser.add_argument(
        "--peers", default="tesseract,rapidocr", help="comma-separated peers, or '' for none"
    )
    parser.add_argument(
        "--peer-python",
        type=Path,
        default=Path(os.environ.get("HDRNN_PEERS_PYTHON", ".venv-peers/bin/python")),
        help="the interpreter with rapidocr and onnxruntime (default: $HDRNN_PEERS_PYTHON "
        "or .venv-peers/bin/python)",
    )
    parser.add_argument(
        "--zoom",
        type=float,
        default=1.0,
        help="scale the composed ink before the photo (1: digits of MNIST's size, ~20 px tall)",
    )
    parser.add_argument(
        "--command-images",
        type=int,
        default=200,
        help="photos the hdrnn read command is timed on (0: not timed)",
    )
    parser.add_argument("--note", default="", help="a line for the report (say, other load)")
    parser.add_argument(
        "--out", type=Path, help="write the report here (markdown) and its figures as .json"
    )
    return parser.parse_args(argv)


def get_model(args, mnist):
    """``(model, description)``: the given file, the shipped model, or a quickly trained one."""
    if args.model is not None:
        model = joblib.load(args.model) if args.trust_pickle else load(args.model)
        return model, f"{args.model.name} (sha256 {_sha256(args.model)[:12]})"
    try:
        from hdrnn.pretrained import load_pretrained, pretrained_models

        card = pretrained_models()["mnist"]
        model = load_pretrained()
        return model, f"shipped 'mnist', {card.architecture} (sha256 {card.sha256[:12]})"
    except Exception as error:  # the shipped file may not be built yet
        print(f"shipped model unavailable ({error}); training {args.epochs} epochs on MNIST")
    n = mnist.n_train
    model = DigitMLPClassifier(max_iter=args.epochs, random_state=args.seed)
    model.fit(mnist.data[:n], mnist.target[:n])
    return model, f"trained here, {args.epochs} epochs, seed {args.seed}"


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_sets(mnist, n, seed, zoom=1.0):
    """``{(writers, spacing): (ink images, photos, truths)}``: the whole test set.

    Each group has a generator of its own (seeded by ``seed`` and the
    group's place), so a group is the same whichever others are made.
    """
    test = slice(mnist.n_train, None)  # MNIST's test digits only
    pool = mnist.data[test].reshape(-1, 28, 28)
    pool_labels = mnist.target[test]
    sets = {}
    for w, writers in enumerate(WRITERS):
        for s, spacing in enumerate(synthetic.SPACINGS):
            rng = np.random.default_rng([seed, w, s])
            if writers == "MNIST test":
                inks, truths = synthetic.make_numbers(
                    pool, pool_labels, n, rng, lengths=(2, 10), spacing=spacing
                )
            else:
                inks, truths = synthetic.make_writer_numbers(
                    n, rng, writers=writers, lengths=(2, 10), spacing=spacing
                )
            if zoom != 1:  # a closer photo: the paper's blur, noise and JPEG act on more pixels
                inks = [zoomed(ink, zoom) for ink in inks]
            photos = [synthetic.photograph(ink, rng) for ink in inks]
            sets[writers, spacing] = ([synthetic.as_paper(ink) for ink in inks], photos, truths)
    return sets


def zoomed(ink, zoom):
    """The ink scaled by ``zoom`` (linear interpolation), still in [0, 1]."""
    scaled = ndimage.zoom(ink, zoom, order=1, mode="grid-constant", grid_mode=True)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


class Peer:
    """An OCR peer in a worker process: one PNG path in, one JSON answer out."""

    def __init__(self, name, python):
        self.process = subprocess.Popen(
            [str(python), str(PEER_WORKER), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=tempfile.gettempdir(),  # RapidOCR writes nothing here, but never into the repo
        )
        hello = self.process.stdout.readline()
        if not hello:
            self.process.wait()
            raise RuntimeError(f"{name} did not start with {python}")
        self.version = json.loads(hello)["version"]

    def read(self, paths):
        """``(texts, seconds per image)``."""
        texts, seconds = [], []
        for path in paths:
            self.process.stdin.write(f"{path}\n")
            self.process.stdin.flush()
            answer = json.loads(self.process.stdout.readline())
            texts.append(answer["text"])
            seconds.append(answer["seconds"])
        return texts, seconds

    def close(self):
        if self.process.stdin.closed:
            return
        self.process.stdin.write("\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)


def start_peers(names, peer_python):
    """``({name: Peer}, {name: why it was left out})``."""
    peers, missing = {}, {}
    # Absolute (not resolved: a venv's python is a link that must stay in its venv), since
    # a worker starts in a temporary folder, where a relative path would find nothing.
    pythons = {"tesseract": Path(sys.executable), "rapidocr": Path(peer_python).absolute()}
    for name in filter(None, (name.strip() for name in names.split(","))):
        python = pythons.get(name)
        if python is None or not python.exists():
            missing[name] = f"no interpreter at {python}" if python else "unknown peer"
            continue
        try:
            peers[name] = Peer(name, python)
        except (RuntimeError, OSError, ValueError) as error:
            missing[name] = str(error)
    return peers, missing


def read_with_hdrnn(model, images):
    """``(texts, seconds per image)`` of ``read_number`` on the arrays."""
    texts, seconds = [], []
    for image in images:
        start = time.perf_counter()
        texts.append(read_number(image, model, min_confidence=0.0).text)
        seconds.append(time.perf_counter() - start)
    return texts, seconds


def score(texts, seconds, truths):
    """Counts and sums over one group (summable): numbers, exact, right, digits, seconds,
    and how the misread numbers went wrong: fewer or more digits than written, or as many
    with a wrong one."""
    tally = dict.fromkeys(("exact", "right", "digits", "fewer", "more", "wrong", "tens"), 0)
    tally["tens_seconds"] = 0.0  # the time of the numbers of 10 digits
    for text, truth, time_taken in zip(texts, truths, seconds):
        if len(truth.text) == 10:
            tally["tens"] += 1
            tally["tens_seconds"] += time_taken
        tally["exact"] += text == truth.text
        tally["digits"] += len(truth.text)
        tally["fewer"] += len(text) < len(truth.text)
        tally["more"] += len(text) > len(truth.text)
        if len(text) == len(truth.text):
            tally["right"] += sum(a == b for a, b in zip(text, truth.text))
            tally["wrong"] += text != truth.text
    return dict(tally, numbers=len(truths), seconds=float(sum(seconds)))


def save_pngs(images, folder, prefix):
    from PIL import Image

    paths = []
    for i, image in enumerate(images):
        path = Path(folder) / f"{prefix}-{i:05d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


def run(model, sets, peers, folder):
    """``{(writers, spacing, look): {contender: counts}}``, contenders taking turns per group."""
    counts = {}
    warm_up = next(iter(sets.values()))[1][:2]  # first calls load models and fill caches
    read_with_hdrnn(model, warm_up)
    for peer in peers.values():
        peer.read(save_pngs(warm_up, folder, "warm-up"))
    for (writers, spacing), (inks, photos, truths) in sets.items():
        for look, images in zip(LOOKS, (inks, photos)):
            prefix = f"{writers}-{spacing}-{look}".replace(" ", "_")
            paths = save_pngs(images, folder, prefix) if peers else []
            # The peers' ONNX Runtime and OpenBLAS threads spin on after their last job:
            # without the pause they took the start of hdrnn's turn (its ms per number
            # moved by 10-20% between runs of the same code).
            time.sleep(SETTLE_SECONDS)
            group = {"hdrnn": score(*read_with_hdrnn(model, images), truths)}
            for name, peer in peers.items():
                time.sleep(SETTLE_SECONDS)
                group[name] = score(*peer.read(paths), truths)
            counts[writers, spacing, look] = group
            line = ", ".join(f"{n} {c['exact'] / c['numbers']:.0%}" for n, c in group.items())
            print(f"{writers:<10} {spacing:<11} {look:<5} {line}", flush=True)
    return counts


def time_command(args, sets, folder, runs=3):
    """``(images, ms per image)``: ``hdrnn read`` on photographed numbers as PNG files,
    from starting the command to its exit (the median of ``runs``); None if not run
    (``--command-images 0``, or a pickled ``--model``, which the command cannot load)."""
    photos = [photo for _, images, _ in sets.values() for photo in images]
    n = min(args.command_images, len(photos))
    if n == 0 or args.trust_pickle:  # the command reads model files, not pickles
        return None
    chosen = np.random.default_rng(args.seed).choice(len(photos), n, replace=False)
    paths = save_pngs([photos[i] for i in chosen], folder, "command")
    model = [] if args.model is None else ["--model", str(args.model)]
    command = [sys.executable, "-m", "hdrnn", "read", *model, *paths]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return n, 1000 * float(np.median(seconds)) / n


def summed(counts, keep):
    """The counts of the groups whose key ``keep`` accepts, added up per contender."""
    total = {}
    for key, group in counts.items():
        if keep(key):
            for name, tally in group.items():
                into = total.setdefault(name, dict.fromkeys(tally, 0))
                for field, value in tally.items():
                    into[field] += value
    return total


def rows(counts):
    """``[(writers, spacing, look, {contender: figures})]``: every group, then the totals."""
    table = [(*key, figures_of(group)) for key, group in counts.items()]
    for writers in (*WRITERS, "all"):
        for look in LOOKS:
            total = summed(counts, lambda k, w=writers, lk=look: w in ("all", k[0]) and k[2] == lk)
            table.append((writers, "all", look, figures_of(total)))
    for spacing in synthetic.SPACINGS:
        total = summed(counts, lambda k, s=spacing: k[1] == s and k[2] == "photo")
        table.append(("all", spacing, "photo", figures_of(total)))
    return table


def figures_of(group):
    """``{contender: {"exact", "digits", "ms", "numbers", "fewer", "more", "wrong"}}``.

    Shares of numbers (digits: of digits) and mean milliseconds, from summed counts.
    """
    return {
        name: dict(
            exact=tally["exact"] / tally["numbers"],
            digits=tally["right"] / tally["digits"],
            ms=1000 * tally["seconds"] / tally["numbers"],
            ms_10_digits=1000 * tally["tens_seconds"] / max(tally["tens"], 1),
            numbers=tally["numbers"],
            **{key: tally[key] / tally["numbers"] for key in ("fewer", "more", "wrong")},
        )
        for name, tally in group.items()
    }


def targets(table, command=None):
    """``[(what, target, measured, met)]``: the issue's targets, on photographed numbers
    (and for the ``hdrnn read`` command, when ``command`` is ``(images, ms per image)``)."""
    photos = {sp: fig for w, sp, look, fig in table if (w, look) == ("all", "photo")}
    found = []
    for spacing, goal in TARGETS.items():
        exact = photos[spacing]["hdrnn"]["exact"]
        found.append((f"exact numbers, {spacing}", f">= {goal:.0%}", f"{exact:.1%}", exact >= goal))
        if "rapidocr" in photos[spacing]:
            theirs = photos[spacing]["rapidocr"]["exact"]
            found.append(
                (f"ahead of RapidOCR, {spacing}", f"> {theirs:.1%}", f"{exact:.1%}", exact > theirs)
            )
    if "tesseract" in photos["all"]:
        ratio = photos["all"]["hdrnn"]["exact"] / max(photos["all"]["tesseract"]["exact"], 1e-9)
        found.append(("exact numbers, hdrnn / Tesseract", ">= 5x", f"{ratio:.1f}x", ratio >= 5))
    mean = photos["all"]["hdrnn"]["ms"]
    found.append(("ms per number, photos", "<= 10 ms", f"{mean:.1f} ms", mean <= 10))
    tens = photos["all"]["hdrnn"]["ms_10_digits"]
    found.append(("ms per 10-digit number, photos", "<= 10 ms", f"{tens:.1f} ms", tens <= 10))
    if command is not None:
        images, ms = command
        what = f"hdrnn read on {images} photos, whole command, per image"
        found.append((what, "<= 50 ms", f"{ms:.1f} ms", ms <= 50))
    return found


def _load():
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def record(args, model_name, peers, missing, sets, seconds, load_at_start):
    """What was run, where and with what: the report's first part."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    return dict(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        load_average=f"{load_at_start}, at the end {_load()} (1, 5, 15 minutes)",
        note=args.note,
        python=platform.python_version(),
        hdrnn=hdrnn.__version__,
        numpy=np.__version__,
        model=model_name,
        peers="; ".join(peer.version for peer in peers.values()) or "none",
        peers_left_out="; ".join(f"{name}: {why}" for name, why in missing.items()) or "none",
        seed=args.seed,
        numbers_per_group=args.numbers,
        zoom=args.zoom,
        numbers=sum(len(truths) for _, _, truths in sets.values()),
        images=2 * sum(len(truths) for _, _, truths in sets.values()),
        seconds=round(seconds, 1),
        command="python benchmarks/reading.py " + " ".join(sys.argv[1:]),
    )


def _cpuinfo():
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def markdown(run_record, table, found):
    """The report: the run, the table of every contender side by side, the targets."""
    names = [name for name in CONTENDERS if name in table[0][3]]
    shown = [CONTENDERS[name] for name in names]
    head = ["writers", "spacing", "look", "numbers"]
    head += [f"exact, {n}" for n in shown] + [f"digits, {n}" for n in shown]
    head += [f"ms, {n}" for n in shown]
    lines = [
        "# Reading numbers: hdrnn and the OCR peers",
        "",
        *(f"- {key.replace('_', ' ')}: {value}" for key, value in run_record.items()),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for writers, spacing, look, figures in table:
        cells = [writers, spacing, look, str(figures["hdrnn"]["numbers"])]
        cells += [f"{figures[n]['exact']:.1%}" for n in names]
        cells += [f"{figures[n]['digits']:.1%}" for n in names]
        cells += [f"{figures[n]['ms']:.1f} ms" for n in names]
        if spacing == "all" or writers == "all":
            cells = [f"**{cell}**" if i < 3 else cell for i, cell in enumerate(cells)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "How the misread numbers went wrong (photographed numbers, all writers):", ""]
    lines += misreadings(table, names)
    lines += ["", "Targets of issue 25 (photographed numbers, all writers):", ""]
    lines += ["| target | wanted | measured | met |", "|---|---|---|---|"]
    lines += [f"| {w} | {t} | {m} | {'yes' if ok else '**no**'} |" for w, t, m, ok in found]
    return "\n".join(lines) + "\n"


def misreadings(table, names):
    """Table lines: per spacing, the shares of numbers read with fewer digits, more, a wrong one."""
    kinds = {"fewer": "fewer digits", "more": "more digits", "wrong": "a wrong digit"}
    head = ["spacing"] + [f"{kind}, {CONTENDERS[n]}" for n in names for kind in kinds.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for writers, spacing, look, figures in sorted(table, key=lambda row: row[1] == "all"):
        if (writers, look) == ("all", "photo"):
            cells = [f"{figures[n][kind]:.1%}" for n in names for kind in kinds]
            lines.append(f"| {spacing} | " + " | ".join(cells) + " |")
    return lines


def as_json(run_record, table, found):
    return {
        "run": run_record,
        "results": [
            dict(writers=w, spacing=s, look=look, contenders=figures)
            for w, s, look, figures in table
        ],
        "targets": [dict(what=w, wanted=t, measured=m, met=ok) for w, t, m, ok in found],
    }


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = _load()
    mnist = load_mnist(source=args.data_dir, download_if_missing=False)
    model, model_name = get_model(args, mnist)
    sets = make_sets(mnist, args.numbers, args.seed, args.zoom)
    peers, missing = start_peers(args.peers, args.peer_python)
    for name, why in missing.items():
        print(f"{name} left out: {why}")
    try:
        with tempfile.TemporaryDirectory(prefix="hdrnn-reading-") as folder:
            counts = run(model, sets, peers, folder)
            for peer in peers.values():
                peer.close()  # before the command is timed: nothing else runs then
            command = time_command(args, sets, folder)
    finally:
        for peer in peers.values():
            peer.close()
    table = rows(counts)
    found = targets(table, command)
    seconds = time.perf_counter() - started
    run_record = record(args, model_name, peers, missing, sets, seconds, load_at_start)
    report = markdown(run_record, table, found)
    print("\n" + report)
    if args.out is not None:
        args.out.write_text(report)
        document = as_json(run_record, table, found)
        args.out.with_suffix(".json").write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
