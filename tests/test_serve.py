"""``hdrnn serve`` at the HTTP level: a real server on a free port, real requests."""

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from hdrnn import DigitMLPClassifier, load, save
from hdrnn._serve import server as server_module
from hdrnn._serve.recognizer import Recognizer, describe
from hdrnn._serve.server import MAX_BODY_BYTES, DemoServer
from hdrnn.cli import main
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
def serving(recognizer):
    server = DemoServer(("127.0.0.1", 0), recognizer, model_name="test")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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


def _request(server, method, path, body=None, headers=None):
    """``(status, headers, document)`` of one request on a fresh connection."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    content = response.read()
    connection.close()
    is_json = response.getheader("Content-Type", "").startswith("application/json")
    return response.status, response, json.loads(content) if is_json else content


def _drawing(pixels, **extra):
    height, width = pixels.shape
    encoded = base64.b64encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).decode()
    return {"width": width, "height": height, "pixels": encoded, **extra}


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


def test_model_endpoint_describes_the_model(served):
    status, _, facts = _request(served, "GET", "/api/model")
    assert status == 200
    assert facts["architecture"] == "784-32-10 (relu)"
    assert facts["image_shape"] == [28, 28] and facts["classes"] == list(range(10))
    assert facts["source"] == "test.hdrnn" and facts["revision"] == 0
    assert "20x20 box" in facts["preparation"]


def test_units_endpoint_gives_every_first_layer_unit_as_an_image(served, model_28):
    model, _ = model_28
    status, _, units = _request(served, "GET", "/api/units")
    assert status == 200 and units["units"] == 32
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


# ------------------------------------------------------------------ teaching


def test_teaching_changes_the_answer_and_never_the_model_file(
    model_28, drawn_digits, draw, tmp_path, capsys
):
    model, replay = model_28
    original = save(model, tmp_path / "model.hdrnn")
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    loaded, metadata = load_with_metadata(original)
    taught_path = tmp_path / "taught.hdrnn"
    recognizer = Recognizer(
        loaded,
        describe(loaded, "model.hdrnn", metadata["info"]),
        replay=replay,
        save_to=taught_path,
    )
    pixels = draw(drawn_digits[1])
    with serving(recognizer) as server:
        before = _request(server, "POST", "/api/predict", _drawing(pixels))[2]
        label = 7 if before["prediction"] != 7 else 4
        status, _, taught = _request(server, "POST", "/api/teach", _drawing(pixels, label=label))
        assert status == 200, taught
        assert taught["prediction"] == label and taught["passes"] >= 1
        assert taught["revision"] == 1
        after = _request(server, "POST", "/api/predict", _drawing(pixels))[2]
        assert after["prediction"] == label and after["revision"] == 1
        assert _request(server, "GET", "/api/model")[2]["revision"] == 1
        status, response, content = _request(server, "GET", "/api/model-file")
    assert status == 200
    assert 'filename="test-taught.hdrnn"' in response.getheader("Content-Disposition")
    downloaded = tmp_path / "downloaded.hdrnn"
    downloaded.write_bytes(content)
    x = prepare_digit_image(pixels, (28, 28))[np.newaxis]
    for path in (downloaded, taught_path):  # both safe model files, reading it as taught
        assert load(path).predict(x)[0] == label
    assert read_metadata(taught_path)["info"] == {
        "taught_from": "model.hdrnn",
        "drawings_taught": 1,
    }
    assert main(["info", "--model", str(taught_path)]) == 0
    assert "taught: 1 drawing(s) with hdrnn serve, from model.hdrnn" in capsys.readouterr().out
    # The original: untouched on disk, and in memory (teaching trained a copy).
    assert hashlib.sha256(original.read_bytes()).hexdigest() == digest
    assert loaded.predict(x)[0] == before["prediction"]
    # The taught copy keeps the original's training parameters, not teaching's.
    assert load(taught_path).get_params() == loaded.get_params()


def test_teaching_keeps_most_of_what_the_model_knew(model_28, drawn_digits, draw):
    model, (X, y) = model_28
    recognizer = Recognizer(model, describe(model, "m"), replay=(X, y))
    before = model.score(X, y)
    for digit, label in ((0, 6), (8, 3), (5, 6)):  # three corrections against the data
        assert recognizer.teach(draw(drawn_digits[digit]), label)["prediction"] == label
    assert recognizer.model.score(X, y) > before - 0.05
    assert model.score(X, y) == before  # the original object is never trained


def test_teaching_without_replay_data_still_learns(model_8, drawn_digits, draw):
    model, _ = model_8
    recognizer = Recognizer(model, describe(model, "m"))
    pixels = draw(drawn_digits[4])
    label = 1 if recognizer.read(pixels)["prediction"] != 1 else 2
    assert recognizer.teach(pixels, label)["prediction"] == label


def test_concurrent_requests_see_the_old_or_the_new_model_never_a_mix(model_28, drawn_digits, draw):
    model, replay = model_28
    recognizer = Recognizer(model, describe(model, "m"), replay=replay)
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
    new = recognizer.model.predict_proba(x)[0]
    for status, _, reading in readings:
        assert status == 200
        expected = old if reading["revision"] == 0 else new
        np.testing.assert_allclose(reading["probabilities"], expected, rtol=1e-6)
    assert readings[-1][2]["revision"] == 1


# ------------------------------------------------------------------ bad requests


def _raw(server, data, read_timeout=10):
    """Send raw bytes; return what the server answers before closing (or timing out)."""
    with socket.create_connection(server.server_address[:2], timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


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
    answer = _raw(served, request_bytes)
    assert answer.split(b" ")[1] == status, answer[:200]
    assert b"application/json" in answer
    assert _request(served, "GET", "/api/model")[0] == 200


def test_an_idle_connection_is_closed_and_others_are_served(monkeypatch, model_8):
    monkeypatch.setattr(server_module.DemoHandler, "timeout", 0.5)
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m"))) as server:
        with socket.create_connection(server.server_address[:2], timeout=10) as slow:
            slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and stops
            assert _request(server, "GET", "/api/model")[0] == 200
            assert slow.recv(1024) == b""  # closed by the server after its timeout


def test_connections_beyond_the_limit_get_503_and_the_server_recovers(monkeypatch, model_8):
    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 2)
    model, _ = model_8
    with serving(Recognizer(model, describe(model, "m"))) as server:
        idle = [socket.create_connection(server.server_address[:2]) for _ in range(2)]
        try:
            threading.Event().wait(0.3)  # the server has accepted both
            answer = _raw(server, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503 ")
        finally:
            for connection in idle:
                connection.close()
        threading.Event().wait(0.3)
        assert _request(server, "GET", "/api/model")[0] == 200


def test_keep_alive_serves_many_requests_on_one_connection(served, drawn_digits, draw):
    connection = http.client.HTTPConnection(*served.server_address[:2], timeout=30)
    body = json.dumps(_drawing(draw(drawn_digits[6])))
    for _ in range(5):
        connection.request("POST", "/api/predict", body=body, headers=JSON)
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["revision"] == 0
    connection.close()


def test_head_requests_get_headers_only(served):
    connection = http.client.HTTPConnection(*served.server_address[:2], timeout=30)
    connection.request("HEAD", "/")
    response = connection.getresponse()
    assert response.status == 200 and response.read() == b""
    assert int(response.getheader("Content-Length")) > 1000
    connection.close()


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
    assert "stopped" in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_without_a_model_trains_one_on_the_digits_and_says_so(tmp_path):
    env = {"HDRNN_MNIST_DIR": "", "SCIKIT_LEARN_DATA": str(tmp_path)}  # no MNIST here
    process, deadline, lines = _start_serve([], env=env)
    _, err = _stop(process, deadline)
    printed = "".join(lines)
    assert "training hdrnn train's default model on scikit-learn's 8x8 digits" in printed
    assert "no MNIST on this machine" in printed
    assert "test accuracy" in printed and "Serving on http://127.0.0.1:" in printed
    assert process.returncode == 0, err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serving_beyond_loopback_warns(model_8, tmp_path):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    process, deadline, lines = _start_serve(["--model", str(path), "--host", "0.0.0.0"])
    _, err = _stop(process, deadline)
    assert "warning: listening on 0.0.0.0" in err and "--host 127.0.0.1" in err
    assert "Serving on http://127.0.0.1:" in "".join(lines)


def test_save_taught_onto_the_model_itself_is_refused(model_8, tmp_path, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    link = tmp_path / "link.hdrnn"
    link.symlink_to(path)
    for target in (path, link):
        assert main(["serve", "--model", str(path), "--save-taught", str(target)]) == 1
        assert "is the model file itself" in capsys.readouterr().err


def test_save_taught_into_a_missing_folder_is_refused_before_serving(model_8, tmp_path, capsys):
    path = save(model_8[0], tmp_path / "m.hdrnn")
    target = tmp_path / "missing" / "taught.hdrnn"
    assert main(["serve", "--model", str(path), "--save-taught", str(target)]) == 1
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
    text = capsys.readouterr().out
    for words in ("--model", "--host", "--port", "0 picks a free one", "--save-taught", "MNIST"):
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
