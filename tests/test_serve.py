"""``hdrnn serve`` at the HTTP level: a real server on a free port, real requests."""

import base64
import dataclasses
import hashlib
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from hdrnn import DigitMLPClassifier, load, save
from hdrnn._serve import connections
from hdrnn._serve import lessons as lessons_module
from hdrnn._serve import recognizer as recognizer_module
from hdrnn._serve.addresses import ServedAddresses
from hdrnn._serve.lessons import LessonQueue, class_of
from hdrnn._serve.numbers import MAX_DIGITS
from hdrnn._serve.recognizer import Recognizer, describe
from hdrnn._serve.server import MAX_BODY_BYTES, DemoServer
from hdrnn._serve.sessions import Copies, weight_bytes
from hdrnn.cli import main
from hdrnn.cli import serve as serve_command
from hdrnn.persistence import load_with_metadata, read_metadata
from hdrnn.preprocessing import prepare_digit_image


def _fit(X, y, **params):
    model = DigitMLPClassifier(hidden_layer_sizes=(32,), max_iter=60, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.fixture(scope="module")
def model_28(digits):
    """A 28x28 model (the 8x8 digits, enlarged): reads drawings the way MNIST models do."""
    X, y = digits
    X28 = np.stack([prepare_digit_image(image.reshape(8, 8)) for image in X])
    return _fit(X28, y), (X28, y)


@pytest.fixture(scope="module")
def model_8(digits):
    X, y = digits
    return _fit(X.astype(np.float32), y), (X.astype(np.float32), y)


@contextmanager
def serving(recognizer, host="127.0.0.1", model_name="test"):
    server = DemoServer((host, 0), recognizer, model_name=model_name)
    # A short poll: shutdown() waits for it (the default 0.5 s, once per test, added up).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def served(model_28):
    model, replay = model_28
    recognizer = Recognizer(model, describe(model, "test.hdrnn"), replay=replay)
    with serving(recognizer) as server:
        yield server


def _address(server):
    """Where a client connects to reach ``server`` (0.0.0.0 is reached on loopback)."""
    host, port = server.server_address[:2]
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port


def _request(server, method, path, body=None, headers=None):
    """``(status, headers, document)`` of one request on a fresh connection."""
    # Generous: lessons queue one after another, and the machine may be busy.
    connection = http.client.HTTPConnection(*_address(server), timeout=300)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    content = response.read()
    connection.close()
    is_json = response.getheader("Content-Type", "").startswith("application/json")
    return response.status, response, json.loads(content) if is_json else content


class Browser:
    """A client with its own cookie jar: one browser session."""

    def __init__(self, server):
        self.server = server
        self.cookies = {}
        self.set_cookies = []  # every Set-Cookie header received

    def request(self, method, path, body=None, headers=None):
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent = {"Cookie": cookie} if cookie else {}
        status, response, document = _request(
            self.server, method, path, body, {**sent, **(headers or {})}
        )
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookies.append(header)
            name, _, rest = header.partition("=")
            if "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = rest.split(";")[0]
        return status, response, document

    def read(self, pixels):
        status, _, reading = self.request("POST", "/api/predict", _drawing(pixels))
        assert status == 200, reading
        return reading

    def teach(self, pixels, label):
        return self.request("POST", "/api/teach", _drawing(pixels, label=label))


def _drawing(pixels, **extra):
    height, width = pixels.shape
    encoded = base64.b64encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).decode()
    return {"width": width, "height": height, "pixels": encoded, **extra}


def _other_label(reading, choices=(7, 4)):
    return choices[0] if reading["prediction"] != choices[0] else choices[1]


# ------------------------------------------------------------------ the page


def test_serves_its_page_with_a_restrictive_policy(served):
    status, response, content = _request(served, "GET", "/")
    assert status == 200 and b'<canvas id="pad"' in content
    policy = response.getheader("Content-Security-Policy")
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        status, response, content = _request(served, "GET", path)
        assert status == 200 and response.getheader("Content-Type").startswith(kind)
        assert len(content) > 1000
    # No CDN, no inline script or style: everything the page loads is ours.
    page = _request(served, "GET", "/")[2].decode()
    assert "http://" not in page and "https://" not in page
    assert "<script>" not in page and "style=" not in page
    assert 'id="undo-lesson"' in page and 'id="reset-copy"' in page


def test_model_endpoint_describes_the_model(served):
    status, _, facts = _request(served, "GET", "/api/model")
    assert status == 200
    assert facts["architecture"] == "784-32-10 (relu)"
    assert facts["image_shape"] == [28, 28] and facts["classes"] == list(range(10))
    assert facts["source"] == "test.hdrnn" and facts["revision"] == 0
    assert "20x20 box" in facts["preparation"]
    assert facts["teaching"] == {
        "enabled": True,
        "off_because": None,
        "shared": False,
        "lessons": 0,
        "can_undo": False,
        "dropped": None,
        "said": "This browser's copy: the original model, no lessons; the model file is unchanged.",
    }


def test_units_endpoint_gives_every_first_layer_unit_as_an_image(served, model_28):
    model, _ = model_28
    status, _, units = _request(served, "GET", "/api/units")
    assert status == 200 and units["units"] == 32 and units["revision"] == 0
    grey = np.frombuffer(base64.b64decode(units["weights"]), dtype=np.uint8).reshape(32, 784)
    W = model.coefs_[0].T
    # Each unit scaled by its own largest weight: 255 or 1 at it, 128 at zero.
    strongest = np.abs(W).argmax(axis=1)
    assert set(grey[np.arange(32), strongest]) <= {1, 255}
    np.testing.assert_array_equal(grey[W == 0], 128)
    decoded = (grey.astype(float) - 128) / 127 * np.abs(W).max(axis=1, keepdims=True)
    np.testing.assert_allclose(decoded, W, atol=np.abs(W).max() / 254 + 1e-7)


# ------------------------------------------------------------------ reading drawings


def test_a_drawing_is_read_exactly_as_predict_reads_its_image_file(
    served, model_28, drawn_digits, draw, tmp_path, capsys
):
    # One preprocessing path: the page's pixels and a PNG of the same drawing
    # give the same input vector, and `hdrnn predict` the same answer.
    image = pytest.importorskip("PIL.Image")
    model, _ = model_28
    pixels = draw(drawn_digits[3])
    status, _, reading = _request(served, "POST", "/api/predict", _drawing(pixels))
    assert status == 200
    png = tmp_path / "three.png"
    image.fromarray(pixels).save(png)
    from_file = prepare_digit_image(png, (28, 28))
    np.testing.assert_array_equal(np.array(reading["input"], dtype=np.float32), from_file)
    model_path = save(model, tmp_path / "model.hdrnn")
    assert main(["predict", "--model", str(model_path), str(png), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)[0]
    assert printed["prediction"] == reading["prediction"]
    assert printed["probability"] == pytest.approx(max(reading["probabilities"]), abs=1e-6)
    expected = model.predict_proba(from_file[np.newaxis])[0]
    np.testing.assert_allclose(reading["probabilities"], expected, rtol=1e-6)
    assert reading["classes"] == list(range(10)) and reading["revision"] == 0


def test_the_top_units_are_the_most_active_ones(served, model_28, drawn_digits, draw):
    model, _ = model_28
    reading = _request(served, "POST", "/api/predict", _drawing(draw(drawn_digits[0])))[2]
    x = np.array(reading["input"], dtype=np.float32)
    activations = np.maximum(x @ model.coefs_[0] + model.intercepts_[0], 0)
    expected = np.argsort(activations)[::-1][:8]
    assert [unit["unit"] for unit in reading["units"]] == list(expected)
    np.testing.assert_allclose(
        [unit["activation"] for unit in reading["units"]], activations[expected], rtol=1e-5
    )


def test_an_8x8_model_reads_drawings_through_the_digits_preparation(model_8, drawn_digits, draw):
    model, replay = model_8
    with serving(Recognizer(model, describe(model, "digits"), replay=replay)) as server:
        facts = _request(server, "GET", "/api/model")[2]
        assert facts["image_shape"] == [8, 8] and "32x32 bitmap" in facts["preparation"]
        pixels = draw(drawn_digits[7])
        reading = _request(server, "POST", "/api/predict", _drawing(pixels))[2]
    np.testing.assert_array_equal(
        np.array(reading["input"], dtype=np.float32), prepare_digit_image(pixels, (8, 8))
    )
    assert len(reading["units"]) == 8 and len(reading["probabilities"]) == 10


# ------------------------------------------------------------------ teaching a browser's copy


def test_a_lesson_changes_only_this_browsers_copy_and_never_the_model_file(
    model_28, drawn_digits, draw, tmp_path
):
    model, replay = model_28
    original = save(model, tmp_path / "model.hdrnn")
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    loaded, metadata = load_with_metadata(original)
    recognizer = Recognizer(
        loaded, describe(loaded, "model.hdrnn", metadata["info"]), replay=replay
    )
    pixels = draw(drawn_digits[1])
    with serving(recognizer) as server:
        person, stranger = Browser(server), Browser(server)
        before = person.read(pixels)
        label = _other_label(before)
        status, response, taught = person.teach(pixels, label)
        assert status == 200, taught
        assert taught["prediction"] == label and taught["passes"] >= 1
        assert taught["revision"] >= 1 and taught["teaching"]["lessons"] == 1
        said = "This browser's copy: 1 lesson; the model file is unchanged."
        assert taught["teaching"]["said"] == said
        # The session is in a cookie that page scripts cannot read and other sites do not send.
        cookie = response.getheader("Set-Cookie")
        port = server.server_address[1]
        assert cookie.startswith(f"hdrnn-session-{port}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        after = person.read(pixels)
        assert after["prediction"] == label and after["revision"] == taught["revision"]
        assert person.request("GET", "/api/model")[2]["teaching"]["said"] == said
        # Another browser, and a client without cookies, read with the original model.
        for other in (
            stranger.read(pixels),
            _request(server, "POST", "/api/predict", _drawing(pixels))[2],
        ):
            assert other["revision"] == 0
            assert other["probabilities"] == before["probabilities"]
        assert stranger.request("GET", "/api/model")[2]["teaching"]["lessons"] == 0
        # The download is this browser's copy.
        status, response, content = person.request("GET", "/api/model-file")
        stranger_file = stranger.request("GET", "/api/model-file")[2]
    assert status == 200
    assert 'filename="test-taught.hdrnn"' in response.getheader("Content-Disposition")
    x = prepare_digit_image(pixels, (28, 28))[np.newaxis]
    downloaded = tmp_path / "downloaded.hdrnn"
    downloaded.write_bytes(content)
    assert load(downloaded).predict(x)[0] == label
    (tmp_path / "stranger.hdrnn").write_bytes(stranger_file)
    assert load(tmp_path / "stranger.hdrnn").predict(x)[0] == before["prediction"]
    # The original: untouched on disk, and in memory (teaching trained a copy).
    assert hashlib.sha256(original.read_bytes()).hexdigest() == digest
    assert loaded.predict(x)[0] == before["prediction"]
    assert load(downloaded).get_params() == loaded.get_params()


@pytest.mark.slow
def test_twenty_browsers_teaching_at_once_never_see_each_others_lessons(
    model_28, drawn_digits, draw
):
    model, replay = model_28
    recognizer = Recognizer(model, describe(model, "m"), replay=replay)
    pixels = draw(drawn_digits[8])
    with serving(recognizer) as server:
        original = Browser(server).read(pixels)
        browsers = [Browser(server) for _ in range(20)]
        assert original["prediction"] == 8
        labels = [3, 9, 0, 5] * 5  # each learnt in one or two passes from the original

        def teach_then_read(index):
            browser, label = browsers[index], labels[index]
            status, _, taught = browser.teach(pixels, label)
            assert status == 200, taught
            return taught, browser.read(pixels), browser.request("GET", "/api/model")[2]

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(teach_then_read, range(20)))
        fresh = Browser(server).read(pixels)
    revisions = set()
    for label, (taught, reading, facts) in zip(labels, results):
        assert taught["prediction"] == label and reading["prediction"] == label
        assert reading["revision"] == taught["revision"] == facts["revision"]
        assert reading["probabilities"] == taught["probabilities"]
        assert facts["teaching"]["lessons"] == 1
        revisions.add(taught["revision"])
    assert len(revisions) == 20  # twenty copies
    assert (
        len({browser.cookies[f"hdrnn-session-{server.server_address[1]}"] for browser in browsers})
        == 20
    )
    assert fresh["revision"] == 0 and fresh["probabilities"] == original["probabilities"]


def test_undo_and_reset_restore_the_readings_exactly(served, drawn_digits, draw):
    person = Browser(served)
    pixels = draw(drawn_digits[2])
    original = person.read(pixels)
    assert person.request("POST", "/api/undo", {})[0] == 409  # nothing to undo yet
    first = person.teach(pixels, _other_label(original, (5, 3)))[2]
    second = person.teach(pixels, _other_label(first, (9, 6)))[2]
    assert second["teaching"]["lessons"] == 2 and second["teaching"]["can_undo"]
    assert "2 lessons" in second["teaching"]["said"]

    status, _, undone = person.request("POST", "/api/undo", {})
    assert status == 200 and undone["revision"] == first["revision"]
    assert undone["teaching"]["lessons"] == 1 and not undone["teaching"]["can_undo"]
    assert undone["teaching"]["said"] == (
        "This browser's copy: 1 lesson; the model file is unchanged."
    )
    assert person.read(pixels)["probabilities"] == first["probabilities"]
    status, _, answer = person.request("POST", "/api/undo", {})
    assert status == 409 and answer["error"].startswith("Nothing to undo: this browser's copy")

    status, response, reset = person.request("POST", "/api/reset", {})
    assert status == 200 and reset["revision"] == 0 and reset["teaching"]["lessons"] == 0
    assert "Max-Age=0" in response.getheader("Set-Cookie")  # the session ends
    assert person.read(pixels)["probabilities"] == original["probabilities"]


def test_a_cookie_planted_by_someone_else_never_becomes_a_session(served, drawn_digits, draw):
    # The id of a copy is chosen by the server when the copy is made: a cookie set by
    # another page on this host cannot make two browsers share one.
    planted = "A" * 32
    person = Browser(served)
    person.cookies[f"hdrnn-session-{served.server_address[1]}"] = planted
    pixels = draw(drawn_digits[3])
    assert person.teach(pixels, _other_label(person.read(pixels)))[0] == 200
    assert person.cookies[f"hdrnn-session-{served.server_address[1]}"] != planted
    victim = Browser(served)
    victim.cookies[f"hdrnn-session-{served.server_address[1]}"] = planted
    assert victim.read(pixels)["revision"] == 0


def test_shared_teaching_saves_the_model_with_its_info_and_its_optimizer(
    model_28, drawn_digits, draw, tmp_path, capsys
):
    model, replay = model_28
    info = {"dataset": "digits", "seed": 7, "test_accuracy": 0.9, "test_data": "t"}
    original = save(model, tmp_path / "model.hdrnn", info=info)
    loaded, metadata = load_with_metadata(original)
    taught_path = tmp_path / "taught.hdrnn"
    recognizer = Recognizer(
        loaded,
        describe(loaded, "model.hdrnn", metadata["info"]),
        replay=replay,
        save_to=taught_path,
        shared=True,
    )
    pixels = draw(drawn_digits[1])
    with serving(recognizer) as server:
        label = _other_label(Browser(server).read(pixels))
        status, response, taught = Browser(server).teach(pixels, label)
        assert status == 200 and response.getheader("Set-Cookie") is None
        assert taught["teaching"]["said"] == (
            "The server's shared copy (every visitor reads with it): 1 lesson; the model file "
            "is unchanged; saved to taught.hdrnn."
        )
        assert Browser(server).read(pixels)["prediction"] == label  # everyone sees it
    x = prepare_digit_image(pixels, (28, 28))[np.newaxis]
    assert load(taught_path).predict(x)[0] == label
    saved = read_metadata(taught_path)
    assert saved["info"] == {**info, "taught_from": "model.hdrnn", "drawings_taught": 1}
    # Adam's state and the training parameters are the original's, not teaching's SGD.
    assert saved["state"]["optimizer"] == metadata["state"]["optimizer"]
    assert {name for name in saved["arrays"] if name.startswith("optimizer_")} == {
        name for name in metadata["arrays"] if name.startswith("optimizer_")
    }
    assert load(taught_path).get_params() == loaded.get_params()
    assert main(["info", "--model", str(taught_path)]) == 0
    printed = capsys.readouterr().out
    assert "trained on: digits" in printed and "90.00% on t" in printed
    assert "taught: 1 drawing(s) with hdrnn serve, from model.hdrnn" in printed


def test_save_taught_needs_shared_teaching(model_28):
    model, _ = model_28
    with pytest.raises(ValueError, match="Pass shared=True, or no save_to"):
        Recognizer(model, describe(model, "m"), save_to="taught.hdrnn")


def test_a_deleted_save_taught_folder_is_a_clear_error_and_the_server_keeps_serving(
    model_8, drawn_digits, draw, tmp_path, capfd
):
    model, replay = model_8
    folder = tmp_path / "out"
    folder.mkdir()
    recognizer = Recognizer(
        model, describe(model, "m"), replay=replay, save_to=folder / "t.hdrnn", shared=True
    )
    pixels = draw(drawn_digits[4])
    with serving(recognizer) as server:
        label = _other_label(Browser(server).read(pixels), (1, 2))
        folder.rmdir()
        status, _, answer = Browser(server).teach(pixels, label)
        assert status == 409
        assert "Could not save the taught model to" in answer["error"]
        assert "The change was not applied" in answer["error"]
        facts = _request(server, "GET", "/api/model")[2]
        assert facts["revision"] == 0 and facts["teaching"]["lessons"] == 0
        folder.mkdir()  # fixed: teaching works again
        assert Browser(server).teach(pixels, label)[0] == 200
    err = capfd.readouterr().err
    assert "hdrnn: error: Could not save the taught model" in err and "still serving" in err
    assert "Traceback" not in err


def test_teaching_keeps_most_of_what_the_model_knew(model_28, drawn_digits, draw):
    model, (X, y) = model_28
    recognizer = Recognizer(model, describe(model, "m"), replay=(X, y))
    before = model.score(X, y)
    session = None
    for digit, label in ((0, 6), (8, 3), (5, 6)):  # three corrections against the data
        answer, session = recognizer.teach(draw(drawn_digits[digit]), label, session)
        assert answer["prediction"] == label
    assert recognizer.copy(session).lessons == 3
    assert recognizer.copy(session).model.score(X, y) > before - 0.05
    assert model.score(X, y) == before  # the original object is never trained


def test_teaching_without_replay_data_still_learns(model_8, drawn_digits, draw):
    model, _ = model_8
    recognizer = Recognizer(model, describe(model, "m"))
    pixels = draw(drawn_digits[4])
    label = _other_label(recognizer.read(pixels), (1, 2))
    assert recognizer.teach(pixels, label)[0]["prediction"] == label


@pytest.mark.slow
def test_concurrent_requests_see_the_old_or_the_new_model_never_a_mix(model_28, drawn_digits, draw):
    model, replay = model_28
    recognizer = Recognizer(model, describe(model, "m"), replay=replay, shared=True)
    pixels = draw(drawn_digits[2])
    x = prepare_digit_image(pixels, (28, 28))[np.newaxis]
    old = model.predict_proba(x)[0]
    label = 5 if model.predict(x)[0] != 5 else 3
    with serving(recognizer) as server:

        def read(_):
            return _request(server, "POST", "/api/predict", _drawing(pixels))

        with ThreadPoolExecutor(8) as pool:
            readings = pool.map(read, range(60))
            taught = _request(server, "POST", "/api/teach", _drawing(pixels, label=label))
            readings = list(readings) + list(pool.map(read, range(20)))
    assert taught[0] == 200
    new = recognizer.copy().model.predict_proba(x)[0]
    for status, _, reading in readings:
        assert status == 200
        expected = old if reading["revision"] == 0 else new
        np.testing.assert_allclose(reading["probabilities"], expected, rtol=1e-6)
    assert readings[-1][2]["revision"] == taught[2]["revision"]


def test_a_copy_and_its_revision_are_published_as_one_record(model_8, drawn_digits, draw):
    # A reader takes one record: the model and the revision it reports cannot come
    # from two different lessons.
    model, replay = model_8
    recognizer = Recognizer(model, describe(model, "m"), replay=replay)
    pixels = draw(drawn_digits[4])
    answer, session = recognizer.teach(pixels, _other_label(recognizer.read(pixels), (1, 2)))
    current = recognizer.copy(session)
    assert current.revision == answer["revision"] and current.lessons == 1
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        current.revision = 0
    assert current.previous.revision == 0 and current.previous.previous is None


@pytest.mark.parametrize(
    ("labels", "label", "expected"),
    [
        (np.arange(10.0), 9, 9.0),
        (np.arange(10.0), "9", 9.0),
        (np.arange(10.0), 9.0, 9.0),
        (np.array([False, True]), True, True),
        (np.array([False, True]), "False", False),
        (np.array(["a", "b"]), "b", "b"),
        (np.arange(10), "3", 3),
    ],
)
def test_a_label_names_its_class_by_value_or_by_text(labels, label, expected):
    found = class_of(labels, label)
    assert found == expected and type(found.item()) is type(expected)


@pytest.mark.parametrize("kind", ["float", "bool"])
def test_models_with_float_or_bool_labels_can_be_taught(digits, drawn_digits, draw, kind):
    X, y = digits
    y = y.astype(float) if kind == "float" else y >= 5
    model = _fit(X.astype(np.float32), y)
    recognizer = Recognizer(model, describe(model, "m"), replay=(X.astype(np.float32), y))
    with serving(recognizer) as server:
        facts = _request(server, "GET", "/api/model")[2]
        assert facts["teaching"]["enabled"]
        person = Browser(server)
        pixels = draw(drawn_digits[7])
        before = person.read(pixels)["prediction"]
        label = {"float": 3 if before != 3 else 2, "bool": not before}[kind]  # as the page sends
        status, _, taught = person.teach(pixels, label)
    assert status == 200, taught
    assert taught["prediction"] == label and taught["teaching"]["lessons"] == 1


def test_a_multilabel_model_is_served_with_teaching_off(digits, drawn_digits, draw, tmp_path):
    X, y = digits
    model = _fit(X, np.stack([y >= 5, y % 2 == 0], axis=1).astype(int))
    recognizer = Recognizer(model, describe(model, "m"))
    with serving(recognizer) as server:
        facts = _request(server, "GET", "/api/model")[2]
        assert not facts["teaching"]["enabled"]
        assert "2 labels at once (a multilabel model)" in facts["teaching"]["off_because"]
        assert facts["teaching"]["said"].startswith("Teaching is off for this model")
        pixels = draw(drawn_digits[7])
        assert Browser(server).read(pixels)["revision"] == 0  # it still reads
        status, _, answer = Browser(server).teach(pixels, 1)
    assert status == 409 and "Teaching is off for this model" in answer["error"]


# ------------------------------------------------------------------ the copies


def test_copies_are_bounded_in_number_and_memory_and_idle_ones_expire(model_28):
    model, _ = model_28
    now = [0.0]
    copies = Copies(model, max_sessions=2, idle_seconds=60, clock=lambda: now[0])
    assert copies.bytes_per_session == 2 * weight_bytes(model)
    first = copies.publish(None, copies.derive(model.coefs_, model.intercepts_, copies.original))
    second = copies.publish(None, copies.derive(model.coefs_, model.intercepts_, copies.original))
    now[0] = 30
    copies.get(first)  # first is used: second is now the least recently used
    third = copies.publish(None, copies.derive(model.coefs_, model.intercepts_, copies.original))
    assert len(copies) == 2 and copies.get(first)[0].lessons == 1
    current, dropped = copies.get(second)
    assert current.revision == 0
    assert dropped == "to make room: the server keeps at most 2 browsers' copies"
    now[0] = 30 + 61  # first and third idle for over a minute
    assert copies.get(third) == (copies.original, "after 1 minute without use")
    assert len(copies) == 0
    # Memory bounds the number too: room for one copy with its undo.
    assert Copies(model, memory=copies.bytes_per_session + 1).max_sessions == 1


def test_a_browser_whose_copy_was_dropped_is_told(model_8, drawn_digits, draw):
    model, replay = model_8
    recognizer = Recognizer(model, describe(model, "m"), replay=replay)
    recognizer.copies.idle_seconds = 0  # every copy is dropped as soon as it is idle
    with serving(recognizer) as server:
        person = Browser(server)
        pixels = draw(drawn_digits[4])
        assert person.teach(pixels, _other_label(person.read(pixels), (1, 2)))[0] == 200
        time.sleep(0.01)  # idle
        teaching = person.request("GET", "/api/model")[2]["teaching"]
    assert teaching["lessons"] == 0 and teaching["dropped"] == "after 0 seconds without use"
    assert teaching["said"].startswith("This browser's copy was dropped after 0 seconds")


def test_lessons_take_turns_in_order_and_a_full_queue_is_refused():
    queue = LessonQueue(max_waiting=2)
    order, entered = [], threading.Event()
    release = threading.Event()

    def first():
        with queue.turn():
            entered.set()
            release.wait(10)
            order.append(1)

    def second():
        with queue.turn():
            order.append(2)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    entered.wait(10)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    with pytest.raises(Exception, match="2 lessons are waiting to be taught"):
        with queue.turn():
            pass
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == [1, 2]
    assert queue.stop(timeout=1) == (0, 0)
    with pytest.raises(Exception, match="The server is stopping"):
        with queue.turn():
            pass


# ------------------------------------------------------------------ bad requests


def _raw(server, data, read_timeout=10, first_answer=False):
    """Send raw bytes; return what the server answers before closing (or timing out),
    or with ``first_answer`` as soon as one whole answer has arrived (a connection
    kept alive would otherwise be waited on until the timeout)."""
    with socket.create_connection(_address(server), timeout=read_timeout) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if first_answer and _is_whole_answer(answer):
                    break
        except TimeoutError:
            pass
    return answer


def _is_whole_answer(answer):
    head, blank, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"\r\nContent-Length: (\d+)", head)
    return bool(blank) and length is not None and len(body) >= int(length[1])


GOOD = {"width": 8, "height": 8, "pixels": base64.b64encode(bytes(64)).decode()}
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "words"),
    [
        ("POST", "/api/predict", b"{}", {}, 415, "application/json"),
        ("POST", "/api/predict", b"{not json", JSON, 400, "not JSON"),
        ("POST", "/api/predict", b"\xff\xfe", JSON, 400, "not JSON"),
        ("POST", "/api/predict", b"[1, 2]", JSON, 400, "JSON object"),
        ("POST", "/api/predict", {"height": 8, "pixels": ""}, None, 400, "'width'"),
        ("POST", "/api/predict", {**GOOD, "width": True}, None, 400, "'width' must be"),
        ("POST", "/api/predict", {**GOOD, "width": 8.0}, None, 400, "'width' must be"),
        ("POST", "/api/predict", {**GOOD, "height": 10**9}, None, 400, "from 8 to 1024"),
        ("POST", "/api/predict", {**GOOD, "pixels": 5}, None, 400, "base64 string"),
        ("POST", "/api/predict", {**GOOD, "pixels": "@@@@"}, None, 400, "not valid base64"),
        ("POST", "/api/predict", {**GOOD, "width": 9}, None, 400, "needs 72"),
        ("POST", "/api/predict", GOOD, None, 422, "No digit found"),
        ("POST", "/api/teach", GOOD, None, 400, "needs the right 'label'"),
        ("POST", "/api/teach", {**GOOD, "label": 3}, None, 422, "No digit found"),
        ("POST", "/api/nowhere", GOOD, None, 404, "Nothing here"),
        ("POST", "/", GOOD, None, 405, "takes GET"),
        ("GET", "/api/predict", None, None, 405, "takes POST"),
        ("GET", "/../../etc/passwd", None, None, 404, "Nothing here"),
        ("GET", "/hdrnn/_serve/server.py", None, None, 404, "Nothing here"),
        ("GET", "/_web/index.html", None, None, 404, "Nothing here"),
        ("PUT", "/api/model", b"", None, 405, "not supported"),
        ("DELETE", "/", None, None, 405, "not supported"),
        ("GET", "/api/model", None, {"Host": "evil.example:80"}, 421, "loopback"),
        ("GET", "/api/model", None, {"Host": "127.0.0.1:80:80"}, 421, "loopback"),
        ("POST", "/api/undo", b"[]", JSON, 400, "JSON object"),
        ("POST", "/api/undo", {}, None, 409, "Nothing to undo"),
        ("GET", "/api/reset", None, None, 405, "takes POST"),
        # Python refuses to read an integer of more than 4300 digits: a 400, not a 500.
        ("POST", "/api/predict", b'{"width": ' + b"9" * 5000 + b"}", JSON, 400, "too long"),
        ("POST", "/api/teach", b'{"label": ' + b"7" * 5000 + b"}", JSON, 400, "too long"),
        # JSON nested 100,000 deep (200 KB) overflows the parser's recursion: a 400 too.
        ("POST", "/api/predict", b"[" * 100_000 + b"]" * 100_000, JSON, 400, "nested too"),
        ("POST", "/api/predict", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON, 400, "nested"),
    ],
)
def test_bad_requests_get_a_json_error_and_the_server_keeps_serving(
    served, method, path, body, headers, status, words
):
    answer = _request(served, method, path, body, headers)
    assert answer[0] == status, answer[2]
    assert words in answer[2]["error"]
    assert _request(served, "GET", "/api/model")[0] == 200


@pytest.mark.parametrize("label", [11, "x", None, [1], {"a": 1}, True, "7" * 10_000])
def test_a_label_the_model_does_not_know_is_refused(served, drawn_digits, draw, label):
    drawing = _drawing(draw(drawn_digits[1]), label=label)
    status, _, answer = _request(served, "POST", "/api/teach", drawing)
    assert status == 422 and "is not one of the model's classes" in answer["error"]
    assert len(answer["error"]) < 200  # a huge label is not echoed back
    assert _request(served, "GET", "/api/model")[2]["revision"] == 0


def test_string_labels_are_matched_to_the_models_classes(served, drawn_digits, draw):
    status, _, answer = _request(
        served, "POST", "/api/teach", _drawing(draw(drawn_digits[1]), label="1")
    )
    assert status == 200 and answer["prediction"] == 1


def test_an_oversized_body_is_refused_before_it_is_read(served):
    head = (
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()
    answer = _raw(served, head)  # no body sent: the answer must not wait for it
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"the limit is" in answer


def _smuggled_teach(drawing):
    """A complete ``POST /api/teach`` request, as the body of another request would carry it."""
    body = json.dumps(drawing).encode()
    return (
        b"POST /api/teach HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("path", "content_type", "host", "status"),
    [
        ("/api/predict", "text/plain", "127.0.0.1", b"415"),  # a cross-site "simple" POST
        ("/api/predict", "application/json", "evil.example", b"421"),
        ("/api/nowhere", "text/plain", "127.0.0.1", b"404"),
        ("/", "text/plain", "127.0.0.1", b"405"),
    ],
)
def test_a_refused_requests_body_is_never_taken_as_a_request(
    served, drawn_digits, draw, path, content_type, host, status
):
    inner = _smuggled_teach(_drawing(draw(drawn_digits[3]), label=8))
    outer = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(inner)}\r\n\r\n"
    ).encode() + inner
    answer = _raw(served, outer)
    assert answer.split(b" ")[1] == status, answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in answer
    assert _request(served, "GET", "/api/model")[2]["revision"] == 0


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        # The bytes after a 2-byte body ran as a teach: the malformed line was dropped.
        ("Transfer-Encoding : chunked\r\n", "A header line is malformed"),
        ("Host: evil.example\r\n", "2 Host headers"),  # only the first Host was checked
        ("Origin: http://evil.example\r\n", "2 Origin headers"),
        ("Content-Length: 2\r\n", "2 Content-Length headers"),
    ],
    ids=["space-before-colon", "two-hosts", "two-origins", "two-lengths"],
)
def test_a_request_with_ambiguous_headers_is_refused_and_its_tail_never_run(
    served, drawn_digits, draw, extra, said
):
    port = served.server_address[1]
    inner = _smuggled_teach(_drawing(draw(drawn_digits[3]), label=8))
    outer = (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 2\r\n{extra}\r\n{{}}"
    ).encode() + inner
    answer = _raw(served, outer)
    assert answer.startswith(b"HTTP/1.1 400 ") and said.encode() in answer, answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in answer
    assert _request(served, "GET", "/api/model")[2]["revision"] == 0


def test_an_http_0_9_request_is_refused_with_a_status_line(served):
    # HTTP/0.9 has no Host header to check, and was answered with a bare body.
    answer = _raw(served, b"GET /api/model\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"HTTP/0.9" in answer


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_teach_from_another_site_is_refused(served, drawn_digits, draw, headers):
    drawing = _drawing(draw(drawn_digits[3]), label=8)
    status, _, answer = _request(served, "POST", "/api/teach", drawing, headers)
    assert status == 403 and "other web sites" in answer["error"]
    assert _request(served, "GET", "/api/model")[2]["revision"] == 0


def test_a_teach_from_the_page_itself_is_accepted(served, drawn_digits, draw):
    port = served.server_address[1]
    headers = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    drawing = _drawing(draw(drawn_digits[3]), label=3)
    assert _request(served, "POST", "/api/teach", drawing, headers)[0] == 200


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"431"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"411"),
        (
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"411",
        ),
        (b"BREW /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"501"),
    ],
)
def test_malformed_http_gets_an_error_status_not_a_crash(served, request_bytes, status):
    answer = _raw(served, request_bytes, first_answer=True)
    assert answer.split(b" ")[1] == status, answer[:200]
    assert b"application/json" in answer
    assert _request(served, "GET", "/api/model")[0] == 200


def test_an_idle_connection_is_closed_and_others_are_served(monkeypatch, model_8):
    monkeypatch.setattr(connections, "IDLE_TIMEOUT", 0.5)
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m"))) as server:
        with socket.create_connection(_address(server), timeout=10) as idle:
            assert _request(server, "GET", "/api/model")[0] == 200
            assert idle.recv(1024) == b""  # closed by the server after its timeout


def _slow_request(server, source="127.0.0.1"):
    """A connection whose request has started (and is slow to finish): it holds its slot."""
    slow = socket.create_connection(_address(server), source_address=(source, 0))
    slow.sendall(b"POST /api/predict HTTP/1.1\r\n")
    return slow


def _wait_for_busy_connections(server, count):
    for _ in range(500):
        if server.connections.busy_count() >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{server.connections.busy_count()} busy connections, not {count}")


def test_connections_beyond_the_limit_get_503_and_the_server_recovers(monkeypatch, model_8):
    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 2)
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m"))) as server:
        busy = [_slow_request(server) for _ in range(2)]
        try:
            _wait_for_busy_connections(server, 2)
            answer = _raw(server, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 2" in answer
            assert b"The server is busy" in answer
        finally:
            for connection in busy:
                connection.close()
        threading.Event().wait(0.3)
        assert _request(server, "GET", "/api/model")[0] == 200


def test_keep_alive_serves_many_requests_on_one_connection(served, drawn_digits, draw):
    connection = http.client.HTTPConnection(*_address(served), timeout=30)
    body = json.dumps(_drawing(draw(drawn_digits[6])))
    for _ in range(5):
        connection.request("POST", "/api/predict", body=body, headers=JSON)
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["revision"] == 0
    connection.close()


def test_head_requests_get_headers_only(served):
    connection = http.client.HTTPConnection(*_address(served), timeout=30)
    connection.request("HEAD", "/")
    response = connection.getresponse()
    assert response.status == 200 and response.read() == b""
    assert int(response.getheader("Content-Length")) > 1000
    connection.close()


# ------------------------------------------------------------------ slow and greedy clients


def test_a_request_trickled_a_byte_at_a_time_is_cut_off_at_its_deadline(monkeypatch, model_8):
    # Slowloris: a timeout per read never fires for a client that sends one byte
    # every few seconds; the request's deadline does.
    monkeypatch.setattr(connections, "REQUEST_SECONDS", 1)
    model, _ = model_8
    request = b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
    with serving(Recognizer(model, describe(model, "m"))) as server:
        with socket.create_connection(_address(server), timeout=10) as slow:
            answer = b""
            for byte in request:  # one byte every 0.1 s: 100 s for all of them
                try:
                    slow.sendall(bytes([byte]))
                except OSError:  # closed by the server
                    break
                slow.settimeout(0.1)
                try:
                    answer = slow.recv(65536)
                except TimeoutError:
                    continue
                break
            slow.settimeout(10)
            while chunk := slow.recv(65536):  # the rest, until the server closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"did not arrive within 1 s" in answer
        assert _request(server, "GET", "/api/model")[0] == 200


def test_one_client_cannot_take_every_connection(monkeypatch, model_8):
    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 4)
    monkeypatch.setattr(connections, "MAX_PER_CLIENT", 2)
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m"))) as server:
        greedy = [_slow_request(server, source="127.0.0.2") for _ in range(2)]
        try:
            _wait_for_busy_connections(server, 2)
            # The greedy client's further connections are refused with a 503 it can read...
            for _ in range(3):
                with socket.create_connection(
                    _address(server), timeout=10, source_address=("127.0.0.2", 0)
                ) as more:
                    more.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    assert more.recv(65536).startswith(b"HTTP/1.1 503 ")
            # ...and everyone else is served.
            assert _request(server, "GET", "/api/model")[0] == 200
        finally:
            for connection in greedy:
                connection.close()


def test_a_refused_client_reads_its_503_not_a_reset(monkeypatch, model_8):
    # The refused client is still sending its body: closing at once made the kernel
    # answer with a reset, and the client lost the 503.
    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 1)
    model, _ = model_8
    body = json.dumps({**GOOD, "padding": "x" * 300_000}).encode()
    with serving(Recognizer(model, describe(model, "m"))) as server:
        busy = _slow_request(server)
        try:
            _wait_for_busy_connections(server, 1)
            for _ in range(5):
                connection = http.client.HTTPConnection(*_address(server), timeout=30)
                connection.request("POST", "/api/predict", body=body, headers=JSON)
                response = connection.getresponse()
                assert response.status == 503
                assert "busy" in json.loads(response.read())["error"]
                connection.close()
        finally:
            busy.close()


def _wait_until_every_connection_waits(server, seconds=10):
    """Until every open connection of ``server`` is marked as waiting for a request."""
    table = server.connections
    deadline = time.monotonic() + seconds
    while True:
        with table._lock:
            if all(since is not None for _, since in table._open.values()):
                return
        assert time.monotonic() < deadline, "a connection stayed busy after its answer"
        time.sleep(0.005)


def test_a_waiting_keep_alive_connection_gives_its_slot_to_a_new_client(monkeypatch, model_8):
    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 2)
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m"))) as server:
        kept = []
        for _ in range(2):  # two clients that keep their connections open between requests
            connection = http.client.HTTPConnection(*_address(server), timeout=30)
            connection.request("GET", "/api/model")
            assert connection.getresponse().read()
            kept.append(connection)
            # The server marks a connection waiting just after its answer has gone,
            # so under load the client can be faster: without this, the second
            # connection was sometimes marked first and closed instead.
            _wait_until_every_connection_waits(server)
        assert _request(server, "GET", "/api/model")[0] == 200  # not a 503
        # The longest-waiting connection was closed; like a browser, its client reconnects.
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            kept[0].request("GET", "/api/model")
            kept[0].getresponse()
        for connection in kept:
            connection.close()


@pytest.mark.slow
def test_fifty_keep_alive_clients_all_get_their_lessons_taught(
    model_28, drawn_digits, draw, monkeypatch
):
    # Under the old limit of 32 connections held by 32 idle keep-alive clients, the
    # other clients' lessons were refused (129 of 134).
    monkeypatch.setattr(lessons_module, "TEACH_MAX_PASSES", 1)  # 50 quick lessons in a row
    model, replay = model_28
    recognizer = Recognizer(model, describe(model, "m"), replay=replay)
    pixels = draw(drawn_digits[5])
    body = json.dumps(_drawing(pixels)).encode()
    label = _other_label(recognizer.read(pixels), (3, 9))
    lesson = json.dumps(_drawing(pixels, label=label)).encode()
    with serving(recognizer) as server:
        ready = threading.Barrier(50, timeout=300)

        def client(_):
            connection = http.client.HTTPConnection(*_address(server), timeout=300)
            statuses = []
            for step in range(3):
                if step == 1:
                    ready.wait()  # every client holds a kept-alive connection
                path, content = ("/api/teach", lesson) if step == 1 else ("/api/predict", body)
                connection.request("POST", path, body=content, headers=JSON)
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
            connection.close()
            return statuses

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(client, range(50)))
    assert results == [[200, 200, 200]] * 50


# ------------------------------------------------------------------ Content-Length and bodies


@pytest.mark.parametrize(
    ("length", "status", "words"),
    [
        (b"\xb2", 400, "ASCII digits"),  # superscript two: str.isdigit says yes, int() says no
        ("\u0661\u0662".encode(), 400, "ASCII digits"),  # Arabic-Indic digits
        (b"1" * 5000, 413, "the limit is"),  # Python's int() refuses 5000 digits
        (b"-1", 400, "ASCII digits"),
        (b"64\r\nContent-Length: 65", 400, "2 Content-Length headers"),  # two lengths
    ],
)
def test_a_malformed_content_length_is_a_400_not_a_crash(served, length, status, words, capfd):
    request = (
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + length + b"\r\n\r\n" + json.dumps(GOOD).encode()
    )
    answer = _raw(served, request)
    assert answer.split(b" ")[1] == str(status).encode(), answer[:300]
    assert words.encode() in answer and b"Connection: close" in answer
    assert _request(served, "GET", "/api/model")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_a_body_shorter_than_its_length_is_answered_at_the_deadline(monkeypatch, model_8, capfd):
    monkeypatch.setattr(connections, "REQUEST_SECONDS", 1)
    model, _ = model_8
    body = json.dumps(GOOD).encode()
    head = (
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 50}\r\n\r\n"
    ).encode()
    with serving(Recognizer(model, describe(model, "m"))) as server:
        answer = _raw(server, head + body)  # and waits for an answer
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert b"did not arrive in time" in answer and answer.count(b"HTTP/1.1") == 1
        # A client that says it is done sending gets its answer at once.
        with socket.create_connection(_address(server), timeout=10) as short:
            short.sendall(head + body)
            short.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := short.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 ") and b"ended early" in answer
        assert _request(server, "GET", "/api/model")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "name", ["数字", "Ωmega", "café", 'evil"\r\nSet-Cookie: a=b', "..", "a b;c"]
)
def test_the_download_is_named_after_the_model_in_any_script(model_8, name):
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m")), model_name=name) as server:
        status, response, _ = _request(server, "GET", "/api/model-file")
    assert status == 200
    header = response.getheader("Content-Disposition")
    assert response.getheader("Set-Cookie") is None  # nothing of the name became a header
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    assert fallback.isascii() and fallback.endswith("-taught.hdrnn")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", fallback)
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", header).group(1)
    assert urllib.parse.unquote(encoded) == f"{name}-taught.hdrnn"


# ------------------------------------------------------------------ which hosts it answers to


@pytest.mark.parametrize(
    ("host", "good", "bad"),
    [
        ("127.0.0.2", ["127.0.0.2", "127.0.0.1:5", "localhost", "[::1]"], ["evil.example"]),
        ("0:0:0:0:0:0:0:1", ["[::1]", "[0:0:0:0:0:0:0:1]:9", "localhost:1"], ["evil.example"]),
        (
            "0.0.0.0",
            ["127.0.0.1", "192.0.2.7:80", "localhost", socket.gethostname()],
            ["evil.example", "127.0.0.1.evil.example", "[::1"],
        ),
    ],
)
def test_the_host_check_follows_the_addresses_served(model_8, host, good, bad):
    # DNS rebinding: a page on evil.example re-points its name at this machine.
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m")), host=host) as server:
        for name in good:
            status, _, answer = _request(server, "GET", "/api/model", headers={"Host": name})
            assert status == 200, (name, answer)
        for name in bad:
            status, _, answer = _request(server, "GET", "/api/model", headers={"Host": name})
            assert status == 421 and "DNS rebinding" in answer["error"], (name, answer)
        # The Origin check still applies to what changes a copy.
        port = server.server_address[1]
        headers = {"Host": f"localhost:{port}", "Origin": "http://evil.example"}
        status, _, answer = _request(server, "POST", "/api/reset", {}, headers)
        assert status == 403 and "other web sites" in answer["error"]
        headers["Origin"] = f"http://localhost:{port}"
        assert _request(server, "POST", "/api/reset", {}, headers)[0] == 200


def test_served_addresses_know_loopback_in_every_spelling():
    assert ServedAddresses("127.0.0.2", "127.0.0.2").loopback
    assert ServedAddresses("0:0:0:0:0:0:0:1", "::1").loopback
    assert ServedAddresses("localhost", "127.0.0.1").loopback
    assert not ServedAddresses("0.0.0.0", "0.0.0.0").loopback
    lan = ServedAddresses("192.0.2.5", "192.0.2.5")
    assert lan.names("192.0.2.5:8000", "192.0.2.5") and not lan.names("192.0.2.9", "192.0.2.5")
    assert lan.names("[::ffff:127.0.0.1]:80", "192.0.2.5")
    assert not lan.names("evil.example", "192.0.2.5")
    named = ServedAddresses("digits.lan", "192.0.2.5")
    assert named.names("DIGITS.lan.:8000", "192.0.2.5")


# ------------------------------------------------------------------ the command


def _start_serve(args, env=None):
    process = subprocess.Popen(
        [sys.executable, "-m", "hdrnn", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    deadline = threading.Timer(180, process.kill)  # the test never hangs
    deadline.start()
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Serving on "):
            break
    return process, deadline, lines


def _stop(process, deadline):
    try:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        deadline.cancel()
        process.kill()
    return out, err


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_a_model_file_until_ctrl_c(model_8, tmp_path):
    model, _ = model_8
    path = save(model, tmp_path / "digits.hdrnn", info={"test_accuracy": 0.9, "test_data": "t"})
    process, deadline, lines = _start_serve(["--model", str(path)])
    try:
        url = lines[-1].split()[2]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert "64-32-10 (relu), digits.hdrnn, 90.00% test accuracy on t" in "".join(lines)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/api/model")
        assert json.loads(connection.getresponse().read())["source"] == "digits.hdrnn"
        connection.close()
    finally:
        _, err = _stop(process, deadline)
    assert process.returncode == 0, err
    assert "stopped. No lesson was in progress." in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_without_a_model_serves_the_shipped_model_at_once_and_says_so(tmp_path):
    env = {"HDRNN_MNIST_DIR": "", "SCIKIT_LEARN_DATA": str(tmp_path)}  # no MNIST here
    process, deadline, lines = _start_serve([], env=env)
    _, err = _stop(process, deadline)
    printed = "".join(lines)
    assert "serving the shipped model" in printed
    assert "784-1024-256-10" in printed and "Serving on http://127.0.0.1:" in printed
    assert "training" not in printed.lower()  # no training before serving
    assert process.returncode == 0, err


def _serve_in_process(monkeypatch, args, during=None):
    """Run ``hdrnn serve`` in this process: ``during(server)`` runs, then Ctrl-C."""

    def serve_forever(server, poll_interval=0.5):
        if during is not None:
            during(server)
        raise KeyboardInterrupt

    monkeypatch.setattr(DemoServer, "serve_forever", serve_forever)
    return main(["serve", "--port", "0", *args])


def test_serving_beyond_loopback_warns(model_8, tmp_path, monkeypatch, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    assert _serve_in_process(monkeypatch, ["--model", str(path), "--host", "0.0.0.0"]) == 0
    captured = capsys.readouterr()
    assert "warning: listening on 0.0.0.0" in captured.err and "--host 127.0.0.1" in captured.err
    assert "web pages open in your own browser" in captured.err
    assert "Serving on http://127.0.0.1:" in captured.out


@pytest.mark.parametrize("host", ["127.0.0.2", "0:0:0:0:0:0:0:1", "localhost"])
def test_every_loopback_address_is_private(model_8, tmp_path, monkeypatch, capsys, host):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    assert _serve_in_process(monkeypatch, ["--model", str(path), "--host", host]) == 0
    assert "warning" not in capsys.readouterr().err


def test_the_start_says_how_teaching_works(model_8, digits, tmp_path, monkeypatch, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    assert _serve_in_process(monkeypatch, ["--model", str(path)]) == 0
    printed = capsys.readouterr().out
    per_session = re.search(
        r"Teaching: each browser teaches its own copy \(up to (\d+) copies "
        r"of ([\d.]+) MB kept; unused ones are dropped after 30 minutes\)",
        printed,
    )
    assert per_session and int(per_session.group(1)) == 32, printed
    taught = tmp_path / "taught.hdrnn"
    args = ["--model", str(path), "--shared-teaching", "--save-taught", str(taught)]
    assert _serve_in_process(monkeypatch, args) == 0
    assert (
        f"Teaching: one copy of the model, shared by every browser; saved to {taught} after "
        "each lesson." in capsys.readouterr().out
    )
    X, y = digits
    multilabel = _fit(X, np.stack([y >= 5, y % 2 == 0], axis=1).astype(int))
    path = save(multilabel, tmp_path / "multi.hdrnn")
    assert _serve_in_process(monkeypatch, ["--model", str(path)]) == 0
    captured = capsys.readouterr()
    assert "Teaching is off for this model: it predicts 2 labels at once" in captured.out
    assert "no training digits" not in captured.err


@pytest.mark.parametrize("finishes", [True, False])
def test_ctrl_c_says_what_became_of_the_lessons_in_progress(
    model_8, drawn_digits, draw, tmp_path, monkeypatch, capsys, finishes
):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    started, release = threading.Event(), threading.Event()
    real_lesson = recognizer_module.lesson

    def slow_lesson(*args, **kwargs):
        started.set()
        release.wait(30)
        return real_lesson(*args, **kwargs)

    monkeypatch.setattr(recognizer_module, "lesson", slow_lesson)
    monkeypatch.setattr(serve_command, "STOP_WAIT_SECONDS", 30 if finishes else 0.2)
    pixels = draw(drawn_digits[4])
    threads = []

    def during(server):
        thread = threading.Thread(target=server.recognizer.teach, args=(pixels, 1))
        thread.start()
        threads.append(thread)
        started.wait(10)
        if finishes:
            threading.Timer(0.2, release.set).start()

    try:
        assert _serve_in_process(monkeypatch, ["--model", str(path)], during) == 0
    finally:
        release.set()
        threads[0].join(30)
    err = capsys.readouterr().err
    if finishes:
        assert "hdrnn: stopped. The 1 lesson in progress finished first." in err
    else:
        assert "hdrnn: stopped. 1 of 1 lessons in progress did not finish and were " in err


def test_save_taught_without_shared_teaching_is_refused(model_8, tmp_path, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    target = tmp_path / "taught.hdrnn"
    assert main(["serve", "--model", str(path), "--save-taught", str(target)]) == 1
    error = capsys.readouterr().err
    assert "--save-taught saves the one taught model of --shared-teaching" in error
    assert "Add --shared-teaching" in error


def test_save_taught_onto_the_model_itself_is_refused(model_8, tmp_path, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    link = tmp_path / "link.hdrnn"
    link.symlink_to(path)
    for target in (path, link):
        args = ["serve", "--model", str(path), "--shared-teaching", "--save-taught", str(target)]
        assert main(args) == 1
        assert "is the model file itself" in capsys.readouterr().err


def test_save_taught_into_a_missing_folder_is_refused_before_serving(model_8, tmp_path, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    target = tmp_path / "missing" / "taught.hdrnn"
    args = ["serve", "--model", str(path), "--shared-teaching", "--save-taught", str(target)]
    assert main(args) == 1
    assert "hdrnn: error:" in capsys.readouterr().err


def test_a_busy_port_is_a_clear_error(model_8, tmp_path, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(path), "--port", str(port)]) == 1
    error = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1 port {port}" in error and "--port" in error


def test_a_pickle_is_never_served(model_8, tmp_path, capsys):
    import joblib

    path = tmp_path / "m.joblib"
    joblib.dump(model_8[0], path)
    assert main(["serve", "--model", str(path)]) == 1
    assert "pickle" in capsys.readouterr().err


def test_a_model_of_features_not_images_is_refused(digits, tmp_path, capsys):
    X, y = digits
    model = _fit(X[:, :10], y)
    path = save(model, tmp_path / "m.hdrnn")
    assert main(["serve", "--model", str(path)]) == 1
    assert "not a square image" in capsys.readouterr().err


def test_serve_help_says_what_it_does(capsys):
    assert main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in (
        "--model",
        "--host",
        "--port",
        "0 picks a free one",
        "--shared-teaching",
        "--save-taught",
        "MNIST",
        "own copy",
    ):
        assert words in text


def test_the_model_facts_of_train_reach_info(tmp_path, capsys):
    path = tmp_path / "m.hdrnn"
    assert main(["train", "--hidden", "16", "--epochs", "5", "--save", str(path)]) == 0
    info = read_metadata(path)["info"]
    assert info["test_data"] == "the 450 test images of scikit-learn's 8x8 digits"
    capsys.readouterr()
    assert main(["info", "--model", str(path)]) == 0
    assert f"{info['test_accuracy']:.2%} on the 450 test images" in capsys.readouterr().out


def test_the_options_on_the_docs_page_are_the_commands_options():
    from pathlib import Path

    from hdrnn.cli import build_parser

    page = (Path(__file__).resolve().parents[1] / "docs" / "serve.rst").read_text()
    documented = set(re.findall(r"^``(--[a-z-]+)", page.split("Options\n-------")[1], re.M))
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]
    options = {o for a in serve._actions for o in a.option_strings if o.startswith("--")}
    assert documented == options - {"--help"}


# ------------------------------------------------------------------ number mode and photos


def _number_drawing(strokes_of, digits, width=840, height=280):
    """Grey pixels of ``digits`` side by side, as the page's wide canvas paints them.

    ``strokes_of`` is the ``drawn_digits`` fixture (strokes on a 280-pixel square).
    """
    rows, cols = np.mgrid[0:height, 0:width] + 0.5
    ink = np.zeros((height, width), dtype=bool)
    cell = width / max(len(digits), 3)
    for index, digit in enumerate(digits):
        for stroke in strokes_of[digit]:
            points = [(cell * index + 0.2 * cell + 0.75 * (x - 40), y) for x, y in stroke]
            for (x0, y0), (x1, y1) in itertools.pairwise(points):
                dx, dy = x1 - x0, y1 - y0
                t = np.clip(((cols - x0) * dx + (rows - y0) * dy) / (dx * dx + dy * dy or 1), 0, 1)
                ink |= (cols - x0 - t * dx) ** 2 + (rows - y0 - t * dy) ** 2 <= 10**2
    return np.where(ink, 17, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def shipped():
    """A server of the shipped MNIST model (no replay data: none is needed to read)."""
    from hdrnn.pretrained import load_pretrained

    model = load_pretrained()
    with serving(Recognizer(model, describe(model, "the shipped model mnist"))) as server:
        yield server, model


def test_a_number_is_read_as_hdrnn_read_reads_it(shipped, drawn_digits):
    from hdrnn.preprocessing import find_ink, prepare_ink
    from hdrnn.reading import read_number

    server, model = shipped
    pixels = _number_drawing(drawn_digits, [3, 0, 7])
    status, _, reading = _request(server, "POST", "/api/read", _drawing(pixels))
    assert status == 200, reading
    expected = read_number(pixels, model)
    assert reading["text"] == expected.text == "307" and reading["lines"] == ["307"]
    assert reading["confidence"] == pytest.approx(expected.confidence)
    assert (reading["width"], reading["height"], reading["revision"]) == (840, 280, 0)
    found = find_ink(pixels)
    for digit, read in zip(reading["digits"], expected.digits):
        assert digit["box"] == list(read.box) and digit["digit"] == read.digit
        assert digit["vouched"] and digit["text"] == str(read.digit)
        assert digit["candidates"][0] == [read.digit, pytest.approx(read.probability)]
        # The digit's picture is its box's ink, prepared as one digit is: what a lesson teaches.
        x0, y0, x1, y1 = digit["box"]
        crop = found.crop((x0 - 1, y0 - 1, x1 + 1, y1 + 1))
        np.testing.assert_allclose(digit["input"], prepare_ink(crop), atol=1e-4)
    assert [d["box"][0] for d in reading["digits"]] == sorted(
        d["box"][0] for d in reading["digits"]
    )


def test_at_most_two_drawings_are_read_at_once(shipped, monkeypatch):
    # 64 crowded pages read at once took the server to 2.8 GB; two cores gain
    # nothing from more than two at a time: the rest wait their turn.
    from hdrnn._serve import server as server_module

    server, _ = shipped
    reading_now, most = [0], [0]
    lock = threading.Lock()
    read_number = server.recognizer.read_number

    def slow_read(*args, **kwargs):
        with lock:
            reading_now[0] += 1
            most[0] = max(most[0], reading_now[0])
        time.sleep(0.2)
        try:
            return read_number(*args, **kwargs)
        finally:
            with lock:
                reading_now[0] -= 1

    monkeypatch.setattr(server.recognizer, "read_number", slow_read)
    pixels = np.full((40, 80), 255, np.uint8)
    pixels[8:32, 15:19] = pixels[8:32, 55:59] = 0
    statuses = []

    def post():
        statuses.append(_request(server, "POST", "/api/read", _drawing(pixels))[0])

    posts = [threading.Thread(target=post) for _ in range(6)]
    for thread in posts:
        thread.start()
    for thread in posts:
        thread.join(60)
    assert statuses == [200] * 6 and most[0] == server_module.MAX_READINGS == 2


def test_a_digit_whose_box_holds_no_fine_ink_is_read_with_a_blank_picture(shipped):
    # Hair-thin strokes on a wide drawing (read on a copy shrunk 4 times): the finer
    # ink of each box came out empty, and the whole reading was refused with teach's
    # "No ink inside the box" (422).
    server, _ = shipped
    pixels = np.full((24, 1024), 255, np.uint8)
    for x in range(7, 1014, 10):
        pixels[1:21, x : x + 2] = 0
    status, _, reading = _request(server, "POST", "/api/read", _drawing(pixels))
    assert status == 200, reading
    assert len(reading["digits"]) > 40 and set(reading["text"]) <= set("0123456789?")


def test_a_drawing_of_thousands_of_marks_is_refused_not_answered_in_megabytes(shipped):
    # A page of short dashes read as 4600 "digits": a 19 MB answer, every digit with
    # its picture.
    server, _ = shipped
    pixels = np.full((256, 256), 255, np.uint8)
    for row, y in enumerate(range(1, 252, 7)):
        for x in range(1 + (3 * row) % 9 - 8, 255, 9):
            pixels[y : y + 4, max(1, x) : max(1, x + 8)] = 0
    status, _, answer = _request(server, "POST", "/api/read", _drawing(pixels))
    assert status == 422 and f"at most {MAX_DIGITS} digits" in answer["error"]


def test_a_digit_the_model_does_not_vouch_for_reads_as_a_question_mark(shipped, drawn_digits):
    server, _ = shipped
    drawing = _drawing(_number_drawing(drawn_digits, [3, 0, 7]), min_confidence=1.0)
    reading = _request(server, "POST", "/api/read", drawing)[2]
    # Only a probability of exactly 1 (float32's last digit: the shipped model
    # is that sure of some digits) is not below 1.0.
    unsure = [d["probability"] < 1.0 for d in reading["digits"]]
    assert any(unsure) and [not d["vouched"] for d in reading["digits"]] == unsure
    expected = "".join("?" if u else str(d["digit"]) for u, d in zip(unsure, reading["digits"]))
    assert reading["text"] == expected
    assert [d["digit"] for d in reading["digits"]] == [3, 0, 7]  # still said, not vouched for


def test_a_blank_canvas_reads_as_no_number(shipped):
    server, _ = shipped
    blank = np.full((280, 840), 255, dtype=np.uint8)
    reading = _request(server, "POST", "/api/read", _drawing(blank))[2]
    assert reading["text"] == "" and reading["digits"] == [] and reading["confidence"] == 0.0


def test_teaching_one_digit_of_a_number_teaches_its_box_in_this_browser_only(shipped, drawn_digits):
    server, _ = shipped
    person, other = Browser(server), Browser(server)
    pixels = _number_drawing(drawn_digits, [3, 0, 7])
    read = person.request("POST", "/api/read", _drawing(pixels))[2]
    box = read["digits"][1]["box"]
    status, _, taught = person.request("POST", "/api/teach", _drawing(pixels, label=8, box=box))
    assert status == 200 and taught["prediction"] == 8, taught
    np.testing.assert_allclose(taught["input"], read["digits"][1]["input"], atol=1e-4)
    assert (
        taught["teaching"]["said"] == "This browser's copy: 1 lesson; the model file is unchanged."
    )
    assert person.request("POST", "/api/read", _drawing(pixels))[2]["text"] == "387"
    assert other.request("POST", "/api/read", _drawing(pixels))[2]["text"] == "307"
    assert person.request("POST", "/api/reset", {})[0] == 200
    assert person.request("POST", "/api/read", _drawing(pixels))[2]["text"] == "307"


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ({"box": [0, 0, 900, 10]}, 400, "inside the 840x280 drawing"),
        ({"box": [10, 10, 5, 20]}, 400, "x0 < x1"),
        ({"box": [1, 2, 3]}, 400, "'box' must be [x0, y0, x1, y1]"),
        ({"box": [1.0, 2, 30, 40]}, 400, "whole pixels"),
        ({"box": "0,0,10,10"}, 400, "'box' must be"),
        ({"box": [0, 0, 20, 20]}, 422, "No ink inside the box"),
    ],
)
def test_a_bad_digit_box_is_refused_and_nothing_is_taught(
    shipped, drawn_digits, extra, status, words
):
    server, _ = shipped
    drawing = _drawing(_number_drawing(drawn_digits, [3, 0, 7]), label=8, **extra)
    answer = _request(server, "POST", "/api/teach", drawing)
    assert answer[0] == status and words in answer[2]["error"]
    assert answer[1].getheader("Set-Cookie") is None  # no copy was made


@pytest.mark.parametrize("value", [2, -0.1, "0.5", None, True])
def test_a_bad_min_confidence_is_refused(shipped, drawn_digits, value):
    server, _ = shipped
    drawing = _drawing(_number_drawing(drawn_digits, [1]), min_confidence=value)
    status, _, answer = _request(server, "POST", "/api/read", drawing)
    assert status == 400 and "'min_confidence' must be a number from 0 to 1" in answer["error"]


def test_the_page_is_told_the_size_limits_and_a_photo_of_that_size_fits(shipped):
    server, _ = shipped
    limits = _request(server, "GET", "/api/model")[2]["limits"]
    assert limits == {"min_side": 8, "max_side": 1024, "max_pixels": limits["max_pixels"]}
    width = limits["max_side"]
    height = limits["max_pixels"] // width  # as large as the page ever sends
    photo = np.full((height, width), 230, dtype=np.uint8)
    photo[40:300, 480:530] = 30  # a "1"
    body = json.dumps(_drawing(photo, label=1)).encode()
    assert len(body) <= MAX_BODY_BYTES
    for route in ("/api/predict", "/api/read"):
        status, _, reading = _request(server, "POST", route, _drawing(photo))
        assert status == 200, reading
    assert reading["text"] == "1"


def test_the_server_reads_with_one_blas_thread(model_8, tmp_path, monkeypatch):
    # One drawing is a few small products: two BLAS threads waking for each, and
    # spinning against the browser, made the readings slower on a busy 2-core machine.
    # (Recorded, not read back: BLAS threads are global to the process, and another
    # test's thread leaving its own limit meanwhile would restore them.)
    from hdrnn.cli import serve

    limits, serving = [], []
    real_limits = serve.threadpool_limits

    def recorded(**kwargs):
        limits.append(kwargs)
        return real_limits(**kwargs)

    monkeypatch.setattr(serve, "threadpool_limits", recorded)
    path = save(model_8[0], tmp_path / "m.hdrnn")
    assert _serve_in_process(monkeypatch, ["--model", str(path)], serving.append) == 0
    assert serving and limits == [{"limits": 1, "user_api": "blas"}]
