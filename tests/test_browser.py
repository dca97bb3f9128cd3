"""``hdrnn serve`` as a person uses it: real headless Chromium, real pointer events.

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs
it) and Playwright, which drives it through ``executable_path`` and never
downloads a browser. Screenshots go to pytest's temporary folder, and also
to ``HDRNN_SCREENSHOT_DIR`` when it is set (how docs/_static/serve.png is made).
"""

import base64
import os
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from hdrnn import DigitMLPClassifier
from hdrnn._serve.recognizer import Recognizer, describe
from hdrnn._serve.server import DemoServer
from hdrnn.datasets import load_mnist
from hdrnn.preprocessing import prepare_digit_image

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium: apt-get install chromium (.ci/run does)"
)

# A stroke that is not clearly any digit: between a 1 and a 7 (for teaching).
AMBIGUOUS = [[(0.35, 0.2), (0.6, 0.1), (0.5, 0.92)]]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def mnist_model(mnist_dir):
    """``hdrnn train --dataset mnist``'s default model, with its training digits."""
    X_train, X_test, y_train, y_test = load_mnist(source=mnist_dir, return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DigitMLPClassifier(max_iter=20, random_state=0).fit(X_train, y_train)
    info = {"test_accuracy": model.score(X_test, y_test), "test_data": "MNIST's test images"}
    return model, describe(model, "mnist.hdrnn", info), (X_train, y_train)


def _serve(recognizer):
    server = DemoServer(("127.0.0.1", 0), recognizer, model_name="mnist")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def mnist_server(mnist_model):
    model, facts, replay = mnist_model
    server = _serve(Recognizer(model, facts, replay=replay))
    yield server
    server.shutdown()
    server.server_close()


class Person:
    """Draws on the page with the mouse (or a pen, or a finger) and reads what it shows."""

    def __init__(self, page):
        self.page = page
        self.in_flight = 0
        self.most_in_flight = 0
        self.predictions = []  # (request, response) of every /api/predict
        page.on("request", self._sent)
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._done)
        self.errors = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def _sent(self, request):
        if request.url.endswith("/api/predict"):
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _done(self, request):
        if request.url.endswith("/api/predict"):
            self.in_flight -= 1
            response = request.response()
            if response is not None:
                self.predictions.append((request, response))

    def to_page(self, points):
        box = self.page.locator("#pad").bounding_box()
        scale = box["width"] / 280
        return [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]

    def draw(self, strokes, check_live=False):
        """Draw with the mouse; with ``check_live``, see an answer before the first stroke ends."""
        mouse = self.page.mouse
        for number, stroke in enumerate(strokes):
            points = self.to_page(stroke)
            mouse.move(*points[0])
            mouse.down()
            for index, point in enumerate(points[1:], start=1):
                mouse.move(*point, steps=2)
                if check_live and number == 0 and index == len(points) // 2:
                    self.page.wait_for_function(
                        "document.getElementById('answer').textContent !== '?'", timeout=5000
                    )
            mouse.up()
        return self.answer()

    def answer(self):
        """The answer once the page has caught up with the drawing."""
        self.page.wait_for_selector('section.answer[aria-busy="false"]', timeout=10_000)
        return self.page.inner_text("#answer")

    def clear(self):
        self.page.click("#clear")
        assert self.page.inner_text("#answer") == "?"

    def thumbnail(self):
        """The pixels of "what the model sees", 0-255, as a flat list."""
        return self.page.evaluate(
            """() => {
                const c = document.getElementById('seen');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                return Array.from({length: c.width * c.height}, (_, i) => d[4 * i]);
            }"""
        )


def _strokes(unit_strokes, margin=40):
    span = 280 - 2 * margin
    return [[(margin + x * span, margin + y * span) for x, y in s] for s in unit_strokes]


def _save_screenshot(page, tmp_path, name, full_page=True):
    path = tmp_path / name
    page.screenshot(path=path, full_page=full_page)
    if os.environ.get("HDRNN_SCREENSHOT_DIR"):
        shutil.copy(path, Path(os.environ["HDRNN_SCREENSHOT_DIR"]) / name)
    assert path.stat().st_size > 20_000  # a rendered page, not a blank one
    return path


def test_mnist_model_reads_digits_drawn_with_the_mouse_and_learns(
    browser, mnist_server, drawn_digits, tmp_path
):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    person = Person(page)
    page.goto(mnist_server.url)
    page.wait_for_selector("#teach-buttons button")
    assert "784-128-64-10 (relu)" in page.inner_text("#model-line")
    assert "test accuracy" in page.inner_text("#model-line")
    assert page.inner_text("#seen-caption") == "What the model sees (28\N{MULTIPLICATION SIGN}28)"

    answers = {}
    for digit, strokes in drawn_digits.items():
        person.clear()
        answers[digit] = person.draw(strokes, check_live=True)
        request, response = person.predictions[-1]
        reading = response.json()
        assert str(reading["prediction"]) == answers[digit]
        # The thumbnail is the model's input, and the input is what a PNG of
        # the same pixels gives `hdrnn predict` (one preprocessing path).
        expected = np.rint(255 * np.array(reading["input"]))
        np.testing.assert_allclose(person.thumbnail(), expected, atol=1)
        if digit == 3:
            _check_request_is_read_like_a_file(request.post_data_json, reading, tmp_path)
            _save_screenshot(page, tmp_path, "serve.png")
    correct = sum(str(digit) == answer for digit, answer in answers.items())
    assert correct >= 9, answers
    assert person.most_in_flight == 1  # never more than one prediction request at a time
    assert len(person.predictions) > 20  # live: many answers per digit, not one per release

    # Teaching: a drawing it reads one way becomes what the person says it is.
    person.clear()
    first = person.draw(_strokes(AMBIGUOUS))
    target = "7" if first != "7" else "1"
    page.locator("#teach-buttons button", has_text=target).click()
    page.wait_for_selector("#teach-status.done", timeout=20_000)
    assert person.answer() == target
    assert f"now reads this drawing as {target}" in page.inner_text("#teach-status")
    assert page.locator("#download").is_visible()
    assert "taught 1 drawing here" in page.inner_text("#model-line")
    assert not person.errors, person.errors
    page.close()


def _check_request_is_read_like_a_file(request, reading, tmp_path):
    image = pytest.importorskip("PIL.Image")
    grey = np.frombuffer(base64.b64decode(request["pixels"]), dtype=np.uint8)
    pixels = grey.reshape(request["height"], request["width"])
    assert pixels.shape == (280, 280) and pixels.min() < 50 and pixels.max() == 255
    path = tmp_path / "drawing.png"
    image.fromarray(pixels).save(path)
    np.testing.assert_array_equal(
        np.array(reading["input"], dtype=np.float32), prepare_digit_image(path, (28, 28))
    )


def test_undo_and_clear(browser, mnist_server, drawn_digits):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    person = Person(page)
    page.goto(mnist_server.url)
    page.wait_for_selector("#teach-buttons button")
    four = drawn_digits[4]
    assert person.draw(four) == "4"
    page.click("#undo")  # the 4's second stroke goes: what is left is not a 4
    assert person.answer() != "4"
    page.keyboard.press("Control+z")  # nothing left
    assert page.inner_text("#answer") == "?"
    assert person.draw(four) == "4"
    page.keyboard.press("Escape")
    assert page.inner_text("#answer") == "?"
    assert set(person.thumbnail()) == {0}
    assert page.locator("#units li").count() == 0
    assert not person.errors, person.errors
    page.close()


def test_a_phone_draws_with_a_finger_and_the_page_fits(browser, mnist_server, tmp_path):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    person = Person(page)
    page.goto(mnist_server.url)
    page.wait_for_selector("#teach-buttons button")
    cdp = context.new_cdp_session(page)
    seven = _strokes([[(0.22, 0.1), (0.78, 0.1), (0.42, 0.92)]])[0]
    points = person.to_page(
        np.array([*np.linspace(seven[0], seven[1], 12), *np.linspace(seven[1], seven[2], 16)])
    )
    for kind, (x, y) in [("touchStart", points[0])] + [("touchMove", p) for p in points[1:]]:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert person.answer() == "7"
    assert page.evaluate("window.scrollY") == 0  # the finger drew; the page did not scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
    box = page.locator("#pad").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    answer = page.locator("#answer").bounding_box()
    assert answer["y"] + answer["height"] <= 844  # the answer shows without scrolling
    _save_screenshot(page, tmp_path, "serve-phone.png", full_page=False)  # what a phone shows
    assert not person.errors, person.errors
    context.close()


def test_a_pen_draws_too(browser, mnist_server, drawn_digits):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    person = Person(page)
    page.goto(mnist_server.url)
    page.wait_for_selector("#teach-buttons button")
    cdp = page.context.new_cdp_session(page)
    points = person.to_page(drawn_digits[0][0])
    events = [("mousePressed", points[0])] + [("mouseMoved", p) for p in points[1:]]
    for kind, (x, y) in [*events, ("mouseReleased", points[-1])]:
        cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": x,
                "y": y,
                "button": "left",
                "buttons": 1,
                "pointerType": "pen",
                "clickCount": 1,
                "force": 0.5,
            },
        )
    assert person.answer() == "0"
    page.close()


def test_an_8x8_model_shows_an_8x8_thumbnail(browser, digits, drawn_digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DigitMLPClassifier(max_iter=100, random_state=0).fit(X, y)
    server = _serve(Recognizer(model, describe(model, "digits"), replay=(X, y)))
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        person = Person(page)
        page.goto(server.url)
        page.wait_for_selector("#teach-buttons button")
        assert page.inner_text("#seen-caption") == "What the model sees (8\N{MULTIPLICATION SIGN}8)"
        person.draw(drawn_digits[1])
        reading = person.predictions[-1][1].json()
        assert len(person.thumbnail()) == 64
        np.testing.assert_allclose(
            person.thumbnail(), np.rint(255 * np.array(reading["input"])), atol=1
        )
        assert "32x32 bitmap" in page.inner_text("#preparation")
        assert page.locator("#units canvas").count() == 8
        assert not person.errors, person.errors
        page.close()
    finally:
        server.shutdown()
        server.server_close()
