// hdrnn serve: draw a digit, watch the network read it, teach it when it is wrong.
//
// The page sends the canvas's grey pixels to the server, which prepares them
// exactly as `hdrnn predict` prepares an image file and answers with the
// probabilities, the prepared image and the most active first-layer units.
// At most one request is in flight: while one is answered, new strokes only
// mark the drawing as changed, and the latest drawing is sent next.
"use strict";

const STROKE_WIDTH = 20; // pixels of the 280-pixel canvas: MNIST-like strokes
const INK = "#111";

const pad = document.getElementById("pad");
const context = pad.getContext("2d", { willReadFrequently: true });
const elements = Object.fromEntries(
  ["answer", "confidence", "seen", "seen-caption", "bars", "status", "model-line", "teach-buttons",
   "teach-status", "download", "units", "undo", "clear", "preparation", "undo-lesson",
   "reset-copy", "teach-intro"]
    .map((id) => [id, document.getElementById(id)])
);

const state = {
  strokes: [],        // each a list of [x, y] canvas points
  drawing: null,      // the stroke under the pointer, if any
  pointerId: null,
  inFlight: false,    // a prediction request is being answered
  changed: false,     // the drawing changed since the last request was sent
  generation: 0,      // bumped by Clear: answers for older drawings are dropped
  model: null,        // /api/model
  unitImages: null,   // first-layer weights, one byte per weight
  unitRevision: -1,
  unitItems: new Map(), // painted "look inside" items, by model revision and unit
  teaching: false,
};

// ------------------------------------------------------------------ drawing

function canvasPoint(event) {
  const box = pad.getBoundingClientRect();
  return [
    (event.clientX - box.left) * (pad.width / box.width),
    (event.clientY - box.top) * (pad.height / box.height),
  ];
}

function paintStroke(points) {
  context.lineWidth = STROKE_WIDTH;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = INK;
  context.fillStyle = INK;
  if (points.length === 1) { // a dot
    context.beginPath();
    context.arc(points[0][0], points[0][1], STROKE_WIDTH / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.beginPath();
  context.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) context.lineTo(x, y);
  context.stroke();
}

function repaint() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
  for (const stroke of state.strokes) paintStroke(stroke);
}

pad.addEventListener("pointerdown", (event) => {
  if (state.drawing || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  state.pointerId = event.pointerId;
  state.drawing = [canvasPoint(event)];
  state.strokes.push(state.drawing);
  paintStroke(state.drawing);
  drawingChanged();
});

pad.addEventListener("pointermove", (event) => {
  if (!state.drawing || event.pointerId !== state.pointerId) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  const from = state.drawing.length - 1; // paint only the new segments, from the last point
  for (const each of events.length ? events : [event]) state.drawing.push(canvasPoint(each));
  paintStroke(state.drawing.slice(from));
  drawingChanged();
});

function endStroke(event) {
  if (!state.drawing || event.pointerId !== state.pointerId) return;
  state.drawing = null;
  state.pointerId = null;
  drawingChanged();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  if (state.drawing) return;
  state.strokes.pop();
  repaint();
  if (state.strokes.length) drawingChanged();
  else clear();
}

function clear() {
  state.strokes = [];
  state.drawing = null;
  state.generation += 1;
  repaint();
  showEmpty();
  markBusy();
}

elements.undo.addEventListener("click", undo);
elements.clear.addEventListener("click", clear);
elements["undo-lesson"].addEventListener("click", () => changeCopy("/api/undo"));
elements["reset-copy"].addEventListener("click", () => changeCopy("/api/reset"));
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Escape") {
    clear();
  }
});

// ------------------------------------------------------------------ talking to the server

function drawingRequest() {
  // One grey byte per pixel, row by row, in base64: what the server reads.
  const { data } = context.getImageData(0, 0, pad.width, pad.height);
  const grey = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < grey.length; i += 1) {
    const j = 4 * i;
    grey[i] = Math.round(0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]);
  }
  let binary = "";
  for (let i = 0; i < grey.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, grey.subarray(i, i + 0x8000));
  }
  return { width: pad.width, height: pad.height, pixels: btoa(binary) };
}

async function postJSON(url, body) {
  // Same-origin requests carry the session cookie: this browser's copy of the model.
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function drawingChanged() {
  state.changed = true;
  if (!state.inFlight && !state.teaching) predict();
  markBusy();
}

function markBusy() {
  // aria-busy: the answer is about to change (assistive technology, and tests, wait for it)
  const busy = state.inFlight || state.teaching || (state.changed && state.strokes.length > 0);
  elements.answer.closest("section").setAttribute("aria-busy", String(busy));
}

async function predict() {
  if (!state.strokes.length) return;
  state.changed = false;
  state.inFlight = true;
  const generation = state.generation;
  try {
    const reading = await postJSON("/api/predict", drawingRequest());
    if (generation === state.generation) showReading(reading);
  } catch (error) {
    if (generation === state.generation) showStatus(error.message, "error");
  } finally {
    state.inFlight = false;
  }
  if (state.changed && state.strokes.length && !state.teaching) predict(); // drawn meanwhile
  markBusy();
}

async function teach(label) {
  if (!state.strokes.length) {
    showTeachStatus("Draw a digit first, then click what it should be.", "error");
    return;
  }
  state.teaching = true;
  markBusy();
  setTeachButtons(false);
  showTeachStatus(`Teaching it that this is ${label}…`, "");
  const generation = state.generation;
  try {
    const reading = await postJSON("/api/teach", { ...drawingRequest(), label });
    if (generation === state.generation) showReading(reading);
    const learnt = String(reading.prediction) === String(label);
    const passes = `${reading.passes} training pass${reading.passes === 1 ? "" : "es"}`;
    showTeachStatus(
      (learnt
        ? `Taught: it now reads this drawing as ${label} (${passes}). `
        : `After ${passes} it still reads ${reading.prediction}; try drawing it more clearly. `)
        + reading.teaching.said,
      learnt ? "done" : "error",
    );
    await loadModel();
  } catch (error) {
    showTeachStatus(error.message, "error");
  } finally {
    state.teaching = false;
    setTeachButtons(true);
  }
  if (state.changed) drawingChanged();
  markBusy();
}

async function changeCopy(url) {
  // Undo the last lesson, or reset this browser's copy to the original model.
  setTeachButtons(false);
  try {
    const answer = await postJSON(url, {});
    showTeachStatus(answer.teaching.said, "done");
    await loadModel();
    if (state.strokes.length) drawingChanged(); // read the drawing again with the copy
  } catch (error) {
    showTeachStatus(error.message, "error");
  } finally {
    setTeachButtons(true);
  }
}

async function loadModel() {
  const response = await fetch("/api/model");
  state.model = await response.json();
  const facts = state.model;
  const teaching = facts.teaching;
  const parts = [facts.architecture];
  if (facts.accuracy) parts.push(facts.accuracy);
  parts.push(facts.source);
  const whose = teaching.shared ? "shared by every browser" : "this browser's copy";
  if (teaching.lessons) {
    parts.push(`taught ${teaching.lessons} drawing${teaching.lessons === 1 ? "" : "s"} here (${whose})`);
  }
  elements["model-line"].textContent = `Model: ${parts.join(" · ")}`;
  elements.preparation.textContent = facts.preparation;
  elements.download.hidden = teaching.lessons === 0;
  elements["teach-buttons"].hidden = !teaching.enabled;
  if (!teaching.enabled || teaching.dropped) showTeachStatus(teaching.said, "error");
  if (!teaching.enabled) elements["teach-intro"].hidden = true;
  if (teaching.shared) {
    elements["teach-intro"].textContent = "Click the digit you meant. The server fine-tunes " +
      "one copy of the model, shared by every browser; the model file is not changed.";
  }
  const [rows, cols] = facts.image_shape;
  if (elements.seen.width !== cols || elements.seen.height !== rows) { // resizing clears it
    elements.seen.width = cols;
    elements.seen.height = rows;
  }
  elements["seen-caption"].textContent = `What the model sees (${rows}×${cols})`;
  if (facts.revision !== state.unitRevision) {
    const units = await (await fetch("/api/units")).json();
    state.unitImages = Uint8Array.from(atob(units.weights), (c) => c.charCodeAt(0));
    state.unitRevision = facts.revision;
    state.unitItems.clear();
  }
}

// ------------------------------------------------------------------ showing

function showStatus(text, kind) {
  elements.status.textContent = text;
  elements.status.className = `status ${kind || ""}`;
}

function showTeachStatus(text, kind) {
  elements["teach-status"].textContent = text;
  elements["teach-status"].className = `status ${kind || ""}`;
}

function setTeachButtons(enabled) {
  for (const button of elements["teach-buttons"].querySelectorAll("button")) {
    button.disabled = !enabled;
  }
  const teaching = state.model && state.model.teaching;
  elements["undo-lesson"].disabled = !enabled || !teaching || !teaching.can_undo;
  elements["reset-copy"].disabled = !enabled || !teaching || teaching.lessons === 0;
}

function buildBars(classes) {
  elements.bars.replaceChildren(...classes.map((label) => {
    const row = document.createElement("li");
    row.dataset.label = label;
    row.innerHTML = '<span class="label"></span><span class="track"><span class="fill">' +
      '</span></span><span class="pct"></span>';
    row.querySelector(".label").textContent = label;
    return row;
  }));
  elements["teach-buttons"].replaceChildren(...classes.map((label) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.title = `Teach it that this drawing is ${label}`;
    button.addEventListener("click", () => teach(label));
    return button;
  }));
}

function showEmpty() {
  elements.answer.textContent = "?";
  elements.answer.classList.add("empty");
  elements.confidence.textContent = "Draw to start";
  for (const row of elements.bars.children) {
    row.classList.remove("top");
    row.querySelector(".fill").style.transform = "scaleX(0)";
    row.querySelector(".pct").textContent = "";
  }
  paintGrey(elements.seen, null);
  elements.units.replaceChildren();
  showStatus("", "");
}

function showReading(reading) {
  const best = reading.probabilities.indexOf(Math.max(...reading.probabilities));
  elements.answer.textContent = reading.prediction;
  elements.answer.classList.remove("empty");
  elements.confidence.textContent = `${(100 * reading.probabilities[best]).toFixed(1)}% sure`;
  [...elements.bars.children].forEach((row, i) => {
    const p = reading.probabilities[i];
    row.classList.toggle("top", i === best);
    row.querySelector(".fill").style.transform = `scaleX(${p})`;
    row.querySelector(".pct").textContent = `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
  });
  paintGrey(elements.seen, reading.input);
  showUnits(reading.units);
  showStatus("", "");
}

function paintPixels(canvas, count, colour) {
  // One 32-bit RGBA word per pixel; canvas memory is little-endian: 0xAABBGGRR.
  const pen = canvas.getContext("2d");
  const image = pen.createImageData(canvas.width, canvas.height);
  const words = new Uint32Array(image.data.buffer);
  for (let i = 0; i < count; i += 1) {
    const [r, g, b] = colour(i);
    words[i] = (0xff000000 | (b << 16) | (g << 8) | r) >>> 0;
  }
  pen.putImageData(image, 0, 0);
}

function paintGrey(canvas, values) {
  paintPixels(canvas, canvas.width * canvas.height, (i) => {
    const v = values ? Math.round(255 * Math.min(1, Math.max(0, values[i]))) : 0;
    return [v, v, v];
  });
}

function paintWeights(canvas, bytes) {
  // 128 is a zero weight: red above (excites), blue below (inhibits), white at zero.
  paintPixels(canvas, bytes.length, (i) => {
    const w = (bytes[i] - 128) / 127;
    const fade = Math.round(255 * (1 - Math.abs(w)));
    return w >= 0 ? [255, fade, fade] : [fade, fade, 255];
  });
}

function unitItem(unit) {
  // One list item per unit and model revision, painted once and reused.
  const key = `${state.unitRevision}:${unit}`;
  let item = state.unitItems.get(key);
  if (!item) {
    const [rows, cols] = state.model.image_shape;
    const size = rows * cols;
    item = document.createElement("li");
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `Input weights of unit ${unit}`);
    paintWeights(canvas, state.unitImages.subarray(unit * size, (unit + 1) * size));
    const caption = document.createElement("span");
    caption.className = "activation";
    item.append(canvas, `unit ${unit}`, caption);
    state.unitItems.set(key, item);
  }
  return item;
}

function showUnits(units) {
  if (!state.unitImages || !state.model) return;
  elements.units.replaceChildren(...units.map(({ unit, activation }) => {
    const item = unitItem(unit);
    item.querySelector(".activation").textContent =
      activation === null ? "∞" : activation.toFixed(2);
    return item;
  }));
}

// ------------------------------------------------------------------ start

async function start() {
  repaint();
  try {
    await loadModel();
    buildBars(state.model.classes);
    setTeachButtons(true);
    showEmpty();
    markBusy();
  } catch (error) {
    showStatus(`Could not load the model: ${error.message}`, "error");
  }
}

start();
