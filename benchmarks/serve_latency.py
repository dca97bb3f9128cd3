"""Round-trip time of ``hdrnn serve``'s predictions, as the page makes them.

Usage::

    python benchmarks/serve_latency.py --data-dir ../shared/data/mnist \\
        [--model mnist.hdrnn] [--requests 2000] [--out benchmarks/serve-latency.md]
    python benchmarks/serve_latency.py --page [--out benchmarks/serve-latency.md]

``--page`` measures the page as a person uses it instead, with the shipped
model and no MNIST files (:func:`page_figures`): from a stroke to the answer
on the screen, for a digit and for a six-digit number, the first paint, and
the memory that each browser's taught copy takes on the server. Its table
replaces the "The page" section of ``--out`` and leaves the rest.

Starts ``hdrnn serve`` in its own process, as a user does (without the
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE overrides, which users do not have),
then posts drawings one after another on one keep-alive connection, as the
page does: a request is sent when the previous answer has arrived. Each
drawing is a real MNIST test digit enlarged to the page's 280x280 canvas,
dark ink on white, so the server crops, scales and centres it as it does a
drawing. The time is measured from sending the request to having parsed the
JSON answer. Without ``--model``, the default MNIST model is trained first.

When Playwright and Chromium are installed, also times the page itself in
headless Chromium: reading the canvas, encoding and posting it, showing the
answer. And times the server's steps in this process (preparing the image,
the forward pass, the JSON), to show where the time goes. Nothing here is a
test.
"""

import argparse
import base64
import datetime
import http.client
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.exceptions import ConvergenceWarning

import hdrnn
from hdrnn import DigitMLPClassifier, load, load_mnist, save
from hdrnn._serve.recognizer import Recognizer, describe

CANVAS = 280
USERS_ENVIRONMENT_WITHOUT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def canvas_drawings(images, count):
    """MNIST digits as the page sends drawings: 280x280 grey bytes, dark ink on white."""
    drawings = []
    for image in images[:count]:
        big = ndimage.zoom(image.astype(np.float32), CANVAS / 28, order=1)  # smooth strokes
        drawings.append(np.clip(255 - 255 * big, 0, 255).astype(np.uint8))
    return drawings


def request_body(pixels):
    encoded = base64.b64encode(pixels.tobytes()).decode("ascii")
    return json.dumps({"width": CANVAS, "height": CANVAS, "pixels": encoded})


def start_server(model_path=None):
    """``hdrnn serve [--model model_path] --port 0`` in a subprocess; returns it and its port."""
    env = {k: v for k, v in os.environ.items() if k not in USERS_ENVIRONMENT_WITHOUT}
    env["PYTHONUNBUFFERED"] = "1"
    model = [] if model_path is None else ["--model", str(model_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "hdrnn", "serve", *model, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    deadline = threading.Timer(300, process.kill)
    deadline.start()
    for line in process.stdout:
        if line.startswith("Serving on "):
            deadline.cancel()
            return process, int(line.split()[2].rsplit(":", 1)[1].strip("/"))
    raise RuntimeError("hdrnn serve did not start")


def round_trips(port, bodies, warmup):
    """Milliseconds per request, one after another on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    times = []
    for index, body in enumerate(bodies):
        start = time.perf_counter()
        connection.request("POST", "/api/predict", body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"request {index}: {response.status} {answer}")
        if index >= warmup:
            times.append(1000 * elapsed)
    connection.close()
    return times


BROWSER_LOOP = """async (drawings) => {
    // What the page does for each change of the drawing: read the canvas,
    // encode it, post it, show the answer (bars, thumbnail, units).
    const times = [];
    for (const encoded of drawings) {
        const grey = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
        const image = context.createImageData(pad.width, pad.height);
        const rgba = new Uint32Array(image.data.buffer);  // little-endian: 0xAABBGGRR
        grey.forEach((v, i) => { rgba[i] = 0xff000000 | (v << 16) | (v << 8) | v; });
        context.putImageData(image, 0, 0);
        // A person's stroke repaints a few pixels per event, not the whole canvas:
        // let the browser finish painting this one before the clock starts.
        await new Promise((resolve) => setTimeout(resolve, 30));
        const start = performance.now();
        showReading(await postJSON("/api/predict", drawingRequest()));
        times.push(performance.now() - start);
    }
    return times;
}"""


def browser_round_trips(url, drawings, warmup):
    """Milliseconds per prediction inside headless Chromium (None without Playwright/Chromium)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    encoded = [base64.b64encode(pixels.tobytes()).decode("ascii") for pixels in drawings]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#teach-buttons button")
        times = page.evaluate(BROWSER_LOOP, encoded)
        browser.close()
    return times[warmup:]


def server_steps(model, drawings):
    """Median milliseconds of the server's steps, in this process."""
    recognizer = Recognizer(model, describe(model, "benchmark"))
    steps = {
        "prepare the image": [],
        "forward pass": [],
        "the whole answer (prepare, predict, units, JSON)": [],
    }
    for pixels in drawings:
        start = time.perf_counter()
        x = recognizer.prepare(pixels)
        prepared = time.perf_counter()
        model.predict_proba(x[np.newaxis])
        predicted = time.perf_counter()
        json.dumps(recognizer.read(pixels))
        done = time.perf_counter()
        steps["prepare the image"].append(prepared - start)
        steps["forward pass"].append(predicted - prepared)
        steps["the whole answer (prepare, predict, units, JSON)"].append(done - predicted)
    return {name: 1000 * statistics.median(times) for name, times in steps.items()}


def percentile(times, q):
    return float(np.percentile(times, q))


def default_model(data_dir, folder):
    X_train, _, y_train, _ = load_mnist(source=data_dir, return_X_y=True)
    print("training the default MNIST model (hdrnn train --dataset mnist)...", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DigitMLPClassifier(max_iter=20, random_state=0).fit(X_train, y_train)
    return save(model, Path(folder) / "mnist.hdrnn")


def summary(times, who, warmup):
    return [
        (f"{who}: requests timed", f"{len(times)} (after {warmup} warm-up)"),
        (f"{who}: median", f"{statistics.median(times):.1f} ms"),
        (f"{who}: 95th percentile", f"**{percentile(times, 95):.1f} ms** (target: under 20 ms)"),
        (f"{who}: 99th percentile", f"{percentile(times, 99):.1f} ms"),
        (f"{who}: slowest", f"{max(times):.1f} ms"),
    ]


def report(times, in_browser, steps, args, model):
    units = "-".join(map(str, [model.n_features_in_, *(c.shape[1] for c in model.coefs_)]))
    rows = summary(times, "HTTP client", args.warmup)
    if in_browser is not None:
        rows += summary(in_browser, "Chromium page", args.warmup)
    rows += [(f"server step: {name} (median)", f"{ms:.2f} ms") for name, ms in steps.items()]
    lines = [
        f"# `hdrnn serve` round trips ({datetime.date.today()})",
        "",
        f"Model {units} ({model.activation}); drawings: MNIST test digits enlarged to "
        f"{CANVAS}x{CANVAS} grey pixels, one request at a time.",
        "",
        "- **HTTP client**: Python's `http.client` on one keep-alive connection, from "
        "sending the request to having parsed the JSON answer.",
        "- **Chromium page**: the page's own code in headless Chromium, from reading the "
        "canvas to having shown the answer (encode, post, bars, thumbnail, units).",
        "- **server steps**: the server's work timed in the benchmark's process.",
        "",
        "| measurement | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, numpy {np.__version__}, hdrnn {hdrnn.__version__}.",
    ]
    return "\n".join(lines) + "\n"


def plot(series, path):
    """A histogram of each ``{label: times}`` with its 95th percentile, and the target."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return
    figure, axes = plt.subplots(figsize=(7, 3.2), layout="constrained")
    bins = np.linspace(0, 25, 101)
    for (label, times), colour in zip(series.items(), ("#2563eb", "#e08a00")):
        p95 = percentile(times, 95)
        axes.hist(np.minimum(times, 25), bins=bins, color=colour, alpha=0.8, label=label)
        axes.axvline(p95, color=colour, linestyle="--", label=f"95th percentile {p95:.1f} ms")
    axes.axvline(20, color="#b42318", label="target: 20 ms")
    axes.set_xlabel("round trip (ms; slower ones counted at 25)")
    axes.set_ylabel("requests")
    axes.set_title("hdrnn serve: predictions on loopback, MNIST model")
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    print(f"wrote {path}")


# ------------------------------------------------------------------ the page, as a person uses it

PAGE_SECTION = "## The page, as a person uses it"
MEASURE = "hdrnn: stroke to answer"  # the page's own performance.measure entries


def digit_strokes(digit, left, top, height):
    """A digit's strokes (the first style of hdrnn's stroke templates) in canvas pixels."""
    from hdrnn.datasets._stroke_templates import TEMPLATES

    strokes = next(iter(TEMPLATES[digit].values()))
    drawn = []
    for stroke in strokes:
        points = np.array(stroke, dtype=float)
        dense = [points[0]]
        for a, b in itertools.pairwise(points):
            dense += [a + (b - a) * t for t in np.linspace(0, 1, 5)[1:]]
        drawn.append([(left + x * height, top + y * height) for x, y in dense])
    return drawn


def draw(page, strokes):
    """Draw strokes (canvas pixels) on the page's canvas with the mouse."""
    left, top, scale = page.evaluate(
        """() => {
            const c = document.getElementById('pad'), r = c.getBoundingClientRect();
            return [r.left + c.clientLeft, r.top + c.clientTop, c.clientWidth / c.width];
        }"""
    )
    for stroke in strokes:
        points = [(left + x * scale, top + y * scale) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=2)
        page.mouse.up()
    page.wait_for_selector('section.answer[aria-busy="false"]')


REREAD = """async ([count, name]) => {
    // Read the drawing again and again, as each stroke event does, one answer at a time.
    performance.clearMeasures(name);
    for (let i = 0; i < count; i += 1) {
        drawingChanged();
        while (state.inFlight || state.changed) await new Promise((r) => setTimeout(r, 0));
    }
    return performance.getEntriesByName(name).map((entry) => entry.duration);
}"""


def first_paints(browser, url, count=10):
    """Milliseconds to the first contentful paint of fresh pages (a new context each)."""
    times = []
    for _ in range(count):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready]")
        times.append(
            page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
        )
        context.close()
    return times


def page_loops(browser, url, rereads):
    """Stroke-to-answer milliseconds: while drawing (mouse), and re-reading a digit and a number."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    figures = {}
    for digit in (3, 7, 0, 8):
        page.click("#clear")
        draw(page, digit_strokes(digit, 100, 40, 200))
    figures["digit, while drawing"] = page.evaluate(
        f"performance.getEntriesByName({MEASURE!r}).map((e) => e.duration)"
    )
    figures["digit, read again"] = page.evaluate(REREAD, [rereads, MEASURE])
    page.click("#mode-number")
    for index, digit in enumerate([3, 0, 7, 2, 5, 9]):
        draw(page, digit_strokes(digit, 30 + 135 * index, 50, 180))
    figures["6-digit number, while drawing"] = page.evaluate(
        f"performance.getEntriesByName({MEASURE!r}).map((e) => e.duration)"
    )
    figures["read as"] = page.inner_text("#answer")
    figures["6-digit number, read again"] = page.evaluate(REREAD, [rereads, MEASURE])
    page.close()
    return figures


def session_memory(sessions=20):
    """Bytes each browser's taught copy adds on the server (traced), and what it reports."""
    import tracemalloc

    from hdrnn.pretrained import load_pretrained

    model = load_pretrained()
    recognizer = Recognizer(model, describe(model, "benchmark"))
    pixels = np.full((280, 280), 255, dtype=np.uint8)
    pixels[40:240, 130:150] = 17  # a 1, taught as a 7 and then a 4: two sets of weights kept
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(sessions):
        _, session = recognizer.teach(pixels, 7)
        recognizer.teach(pixels, 4, session)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / sessions, recognizer.copies.bytes_per_session


def page_figures(rereads=300):
    """Everything ``--page`` measures, as ``{name: value}``."""
    from playwright.sync_api import sync_playwright

    process, port = start_server()
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
            figures = page_loops(browser, url, rereads)
            figures["first contentful paint"] = first_paints(browser, url)
            browser.close()
    finally:
        process.terminate()
        process.wait(30)
    figures["memory"] = session_memory()
    figures["load"] = os.getloadavg()[0]  # other work on the machine slows every figure
    return figures


def page_report(figures):
    """The "The page" section: a markdown table of what :func:`page_figures` measured."""
    rows = []
    for name in (
        "digit, while drawing",
        "digit, read again",
        "6-digit number, while drawing",
        "6-digit number, read again",
    ):
        times = figures[name]
        target = 40 if "number" in name else 20
        rows.append(
            (
                f"stroke to answer: {name}",
                f"median {statistics.median(times):.1f} ms, 95th percentile "
                f"**{percentile(times, 95):.1f} ms** (target {target} ms; {len(times)} answers)",
            )
        )
    paints = figures["first contentful paint"]
    rows.append(
        (
            "first contentful paint (fresh page, 1280x800)",
            f"median {statistics.median(paints):.0f} ms, slowest **{max(paints):.0f} ms** "
            "(target 300 ms)",
        )
    )
    traced, reported = figures["memory"]
    rows.append(
        (
            "memory per teaching browser (two lessons: copy + undo)",
            f"{traced / 1e6:.2f} MB traced; {reported / 1e6:.2f} MB of weights reported",
        )
    )
    lines = [
        PAGE_SECTION,
        "",
        f"`python benchmarks/serve_latency.py --page` ({datetime.date.today()}): `hdrnn serve` "
        "with the shipped model, the page in headless Chromium at 1280x800, strokes drawn "
        "with the mouse. *Stroke to answer* is the page's own `performance.measure` "
        f'("{MEASURE}"): from the first change of the drawing not yet sent to the answer '
        "shown, so it includes waiting for an answer already in flight. *Read again* "
        "re-reads the finished drawing one answer at a time. The number was read as "
        f"`{figures['read as']}`.",
        "",
        "| measurement | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{figures['load']:.1f} while measuring; Python {platform.python_version()}, numpy "
        f"{np.__version__}, hdrnn {hdrnn.__version__}.",
    ]
    return "\n".join(lines) + "\n"


def replace_section(old, section):
    """``old`` markdown with its page section replaced by ``section`` (or added at the end)."""
    if PAGE_SECTION not in old:
        return old.rstrip("\n") + "\n\n" + section if old else section
    head, _, rest = old.partition(PAGE_SECTION)
    tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
    return head + section + ("\n" + tail if tail else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder of the MNIST IDX files (not for --page)")
    parser.add_argument("--page", action="store_true", help="time the page as a person uses it")
    parser.add_argument("--model", type=Path, help="a saved MNIST model (default: train one)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--browser-requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--plot", type=Path, help="also draw a histogram here (matplotlib)")
    args = parser.parse_args()
    if args.page:
        text = page_report(page_figures())
        print(text)
        if args.out:
            old = args.out.read_text() if args.out.exists() else ""
            args.out.write_text(replace_section(old, text))
        return
    if args.data_dir is None:
        parser.error("--data-dir is required (the MNIST IDX files), except with --page")

    _, X_test, _, _ = load_mnist(source=args.data_dir, return_X_y=True)
    drawings = canvas_drawings(X_test.reshape(-1, 28, 28), args.requests + args.warmup)
    bodies = [request_body(pixels) for pixels in drawings]
    with tempfile.TemporaryDirectory() as folder:
        model_path = args.model or default_model(args.data_dir, folder)
        model = load(model_path)
        process, port = start_server(model_path)
        try:
            times = round_trips(port, bodies, args.warmup)
            url = f"http://127.0.0.1:{port}/"
            in_browser = browser_round_trips(url, drawings[: args.browser_requests], args.warmup)
        finally:
            process.terminate()
            process.wait(30)
    steps = server_steps(model, drawings[:300])
    text = report(times, in_browser, steps, args, model)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.plot:
        series = {"HTTP client": times}
        if in_browser is not None:
            series["Chromium page"] = in_browser
        plot(series, args.plot)


if __name__ == "__main__":
    main()
