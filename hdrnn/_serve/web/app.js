// hdrnn serve: draw a digit or a number (or upload a photo), watch the network
// read it, teach it when it is wrong.
//
// The page sends grey pixels to the server: the canvas's, or an uploaded
// photo's, decoded and shrunk here to the server's size limit (so the server
// needs no image library). The server prepares them exactly as `hdrnn predict`
// (one digit) or `hdrnn read` (a number) prepares an image file. At most one
// request is in flight: while one is answered, new strokes only mark the
// drawing as changed, and the latest drawing is sent next.
"use strict";

const STROKE_WIDTH = 20; // pixels of the 280-pixel-high canvas: MNIST-like strokes
// A drawing is sent shrunk: the server finds the ink of a 280-pixel canvas at 140
// pixels anyway, and a quarter of the bytes is a faster request (stroke to answer,
// median: a digit 31 -> 26 ms, a 6-digit number 80 -> 66 ms, interleaved). A digit
// goes at a quarter (70x70, strokes 5 pixels wide, still 2.5 times the 28-pixel
// input): its server time halves and, on 600 stroke-drawn and 600 enlarged MNIST
// digits, the shipped model read as many right as at half size (99.2% and 99.8%
// against 98.8% and 99.2%). A number's cuts keep the half-size detail.
const SHRINK = { digit: 4, number: 2 };
const INK = "#111";
// A number's canvas is 3:1, or 2:1 on a phone (taller for a finger).
const PAD_SIZES = { digit: [280, 280], number: [840, 280], narrowNumber: [560, 280] };
const NARROW = window.matchMedia("(max-width: 760px)");
const MEASURE = "hdrnn: stroke to answer"; // performance.measure entries (devtools, benchmarks)

const pad = document.getElementById("pad");
let context = pad.getContext("2d", { willReadFrequently: true });
const elements = Object.fromEntries(
  ["answer", "confidence", "seen", "seen-caption", "bars", "status", "model-line", "teach-buttons",
   "teach-status", "download", "units", "undo", "clear", "preparation", "undo-lesson",
   "reset-copy", "teach-intro", "teach-target", "digits", "boxes", "pad-frame", "mode-digit",
   "mode-number", "upload", "camera", "photo", "photo-camera", "photo-status", "hint", "title",
   "model-facts"]
    .map((id) => [id, document.getElementById(id)])
);
const answerCard = elements.answer.closest("section");

const state = {
  mode: "digit",      // "digit" or "number"
  strokes: [],        // each a list of [x, y] canvas points
  drawing: null,      // the stroke under the pointer, if any
  pointerId: null,
  photo: null,        // an uploaded photo: {canvas, width, height, request, name}
  inFlight: false,    // a reading request is being answered
  changed: false,     // the drawing changed since the last request was sent
  changedAt: null,    // performance.now() of the first change not yet sent
  generation: 0,      // bumped by Clear: answers for older drawings are dropped
  reading: null,      // the last number reading shown
  selected: null,     // number mode: index of the digit chosen for teaching
  model: null,        // /api/model
  unitImages: null,   // first-layer weights, one byte per weight
  unitRevision: -1,
  unitItems: new Map(), // painted "look inside" items, by model revision and unit
  teaching: false,
  askedToDraw: false, // the teach status asks for a drawing
  loadingPhoto: false,
  measures: 0,
};

// ------------------------------------------------------------------ drawing

function hasInput() {
  return state.strokes.length > 0 || state.photo !== null;
}

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

function photoPlacement() {
  // Where the photo shows on the pad: as large as fits, centred.
  const { width, height } = state.photo;
  const scale = Math.min(pad.width / width, pad.height / height);
  return { scale, x: (pad.width - width * scale) / 2, y: (pad.height - height * scale) / 2 };
}

function repaint() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
  if (state.photo) {
    const { scale, x, y } = photoPlacement();
    context.drawImage(state.photo.canvas, x, y, state.photo.width * scale,
      state.photo.height * scale);
  }
  for (const stroke of state.strokes) paintStroke(stroke);
}

pad.addEventListener("pointerdown", (event) => {
  if (state.drawing || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  if (state.photo) dropPhoto(); // drawing starts afresh on the paper
  pad.setPointerCapture(event.pointerId);
  state.pointerId = event.pointerId;
  state.drawing = [canvasPoint(event)];
  state.strokes.push(state.drawing);
  state.selected = null; // the digits may change: choose again
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
  if (state.strokes.length) state.strokes.pop();
  else dropPhoto();
  state.selected = null;
  repaint();
  if (hasInput()) drawingChanged();
  else clear();
}

function clear() {
  state.strokes = [];
  state.drawing = null;
  dropPhoto();
  state.generation += 1;
  state.changed = false;
  state.changedAt = null;
  repaint();
  showEmpty();
  markBusy();
}

function setMode(mode) {
  if (mode === state.mode) return;
  state.mode = mode;
  document.body.classList.toggle("number-mode", mode === "number");
  document.body.classList.toggle("digit-mode", mode === "digit");
  elements["mode-digit"].setAttribute("aria-pressed", String(mode === "digit"));
  elements["mode-number"].setAttribute("aria-pressed", String(mode === "number"));
  elements.title.textContent = mode === "digit" ? "Draw a digit" : "Write a number";
  elements.hint.textContent = mode === "digit"
    ? "Draw one digit, large and in the middle, with the mouse, a pen or a finger; or upload " +
      "a photo of one (or drop it here)."
    : "Write a number, digits side by side, as tall as the box; or upload a photo of one (or " +
      "drop it here). Click a digit's box to teach it.";
  const [width, height] = PAD_SIZES[mode === "number" && NARROW.matches ? "narrowNumber" : mode];
  pad.width = width; // resizing clears the canvas and its pen
  pad.height = height;
  context = pad.getContext("2d", { willReadFrequently: true });
  pad.setAttribute("aria-label", mode === "digit"
    ? "Drawing area: draw one digit with a pointer, or upload a photo"
    : "Drawing area: write a number with a pointer, or upload a photo");
  showTeachIntro();
  state.strokes = []; // a digit's strokes are not a number's: start again (a photo stays)
  state.generation += 1;
  repaint();
  showEmpty();
  showTeachTarget();
  if (hasInput()) drawingChanged();
  markBusy();
}

elements.undo.addEventListener("click", undo);
elements.clear.addEventListener("click", clear);
elements["mode-digit"].addEventListener("click", () => setMode("digit"));
elements["mode-number"].addEventListener("click", () => setMode("number"));
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

// ------------------------------------------------------------------ photos

elements.upload.addEventListener("click", () => elements.photo.click());
elements.camera.addEventListener("click", () => elements["photo-camera"].click());
for (const input of [elements.photo, elements["photo-camera"]]) {
  input.addEventListener("change", () => {
    if (input.files.length) loadPhoto(input.files[0]);
    input.value = ""; // the same file can be chosen again
  });
}
const frame = elements["pad-frame"];
frame.addEventListener("dragover", (event) => {
  if (![...event.dataTransfer.types].includes("Files")) return;
  event.preventDefault();
  frame.classList.add("dropping");
});
frame.addEventListener("dragleave", () => frame.classList.remove("dropping"));
frame.addEventListener("drop", (event) => {
  event.preventDefault();
  frame.classList.remove("dropping");
  const file = event.dataTransfer.files[0];
  if (file) loadPhoto(file);
});

async function decodePhoto(file) {
  // createImageBitmap decodes in the browser (and applies EXIF orientation); an <img>
  // from a data: URL is the fallback for browsers without it.
  if (window.createImageBitmap) return createImageBitmap(file);
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  const image = new Image();
  image.src = url;
  await image.decode();
  return image;
}

function photoSize(width, height) {
  // As large as the server takes: at most max_side a side and max_pixels in all.
  const { max_side: maxSide, max_pixels: maxPixels } = state.model.limits;
  const scale = Math.min(1, maxSide / Math.max(width, height),
    Math.sqrt(maxPixels / (width * height)));
  return [Math.max(1, Math.floor(width * scale)), Math.max(1, Math.floor(height * scale))];
}

async function loadPhoto(file) {
  state.loadingPhoto = true; // busy from the start: decoding takes a moment
  markBusy();
  try {
    await readPhoto(file);
  } finally {
    state.loadingPhoto = false;
    markBusy();
  }
}

async function readPhoto(file) {
  const status = elements["photo-status"];
  if (!file.type.startsWith("image/")) {
    showLine(status, `${file.name} is not an image (its type is "${file.type || "unknown"}"): ` +
      "choose a PNG, JPEG or WebP photo.", "error");
    return;
  }
  let image;
  try {
    image = await decodePhoto(file);
  } catch (error) {
    showLine(status, `Could not decode ${file.name} as an image: choose a PNG, JPEG or WebP ` +
      "photo.", "error");
    return;
  }
  const width0 = image.width;
  const height0 = image.height;
  const minSide = state.model.limits.min_side;
  const [width, height] = photoSize(width0, height0);
  if (width < minSide || height < minSide) {
    showLine(status, `${file.name} is ${width0}×${height0} pixels; the server needs at least ` +
      `${minSide} a side.`, "error");
    return;
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const pen = canvas.getContext("2d", { willReadFrequently: true });
  pen.fillStyle = "#fff"; // transparency on white paper, as the server's file reader does
  pen.fillRect(0, 0, width, height);
  pen.drawImage(image, 0, 0, width, height);
  if (image.close) image.close();
  state.strokes = [];
  state.drawing = null;
  state.photo = { canvas, width, height, name: file.name, request: greyRequest(pen, width, height) };
  state.generation += 1;
  state.selected = null;
  const shrunk = width === width0 ? "" : `, sent as ${width}×${height}`;
  showLine(status, `Photo ${file.name}: ${width0}×${height0} pixels${shrunk}. Drawing on the ` +
    "canvas replaces it; Clear removes it.", "");
  repaint();
  drawingChanged();
}

function dropPhoto() {
  if (!state.photo) return;
  state.photo = null;
  showLine(elements["photo-status"], "", "");
}

// ------------------------------------------------------------------ talking to the server

function greyRequest(pen, width, height) {
  // One grey byte per pixel, row by row, in base64: what the server reads.
  const { data } = pen.getImageData(0, 0, width, height);
  const grey = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < grey.length; i += 1, j += 4) {
    grey[i] = Math.round(0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]);
  }
  return { width, height, pixels: base64(grey) };
}

function shrunkDrawing(shrink) {
  // The drawing at 1/shrink of its size, each pixel the mean of shrink x shrink,
  // rounded half up. INK on white is grey, so a pixel's grey is its red byte: a
  // third of the reading, and the page's slowest step before posting (3.2 -> 1.9 ms
  // for the number canvas at half size in headless Chromium, interleaved).
  const { width, height } = pad;
  const { data } = context.getImageData(0, 0, width, height);
  const cols = Math.floor(width / shrink);
  const rows = Math.floor(height / shrink);
  const line = 4 * width;
  const shift = 2 * Math.log2(shrink); // shrink is a power of 2: divide by shifting
  const half = 1 << (shift - 1);
  const grey = new Uint8Array(cols * rows);
  for (let row = 0, k = 0; row < rows; row += 1) {
    for (let col = 0, start = shrink * (row * line + 4 * col); col < cols; col += 1, k += 1) {
      let sum = half;
      for (let dy = 0, j = start; dy < shrink; dy += 1, j += line) {
        for (let dx = 0; dx < 4 * shrink; dx += 4) sum += data[j + dx];
      }
      grey[k] = sum >> shift;
      start += 4 * shrink;
    }
  }
  return { width: cols, height: rows, pixels: base64(grey) };
}

function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function drawingRequest() {
  if (state.photo) return state.photo.request;
  return shrunkDrawing(SHRINK[state.mode]);
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
  if (state.askedToDraw) { // "draw a digit first" is answered: take it away
    state.askedToDraw = false;
    showTeachStatus("", "");
  }
  if (state.changedAt === null) state.changedAt = performance.now();
  if (!state.inFlight && !state.teaching) predict();
  markBusy();
}

function markBusy() {
  // aria-busy: the answer is about to change (assistive technology, and tests, wait for it)
  const busy = state.inFlight || state.teaching || state.loadingPhoto ||
    (state.changed && hasInput());
  answerCard.setAttribute("aria-busy", String(busy));
}

function measure(since) {
  if (since === null || !performance.measure) return;
  if (state.measures >= 5000) { // a long session: keep the timeline small
    performance.clearMeasures(MEASURE);
    state.measures = 0;
  }
  performance.measure(MEASURE, { start: since, end: performance.now(), detail: state.mode });
  state.measures += 1;
}

async function predict() {
  if (!hasInput()) return;
  state.changed = false;
  state.inFlight = true;
  const since = state.changedAt;
  state.changedAt = null;
  const generation = state.generation;
  const mode = state.mode;
  try {
    const url = mode === "digit" ? "/api/predict" : "/api/read";
    const reading = await postJSON(url, drawingRequest());
    if (generation === state.generation && mode === state.mode) {
      if (mode === "digit") showReading(reading);
      else showNumber(reading);
      measure(since);
    }
  } catch (error) {
    if (generation === state.generation) showLine(elements.status, error.message, "error");
  } finally {
    state.inFlight = false;
  }
  if (state.changed && hasInput() && !state.teaching) predict(); // drawn meanwhile
  markBusy();
}

function teachRequest(label) {
  // What a lesson teaches: the drawing, or in number mode the chosen digit's box of it.
  if (state.mode === "digit") {
    if (!hasInput()) return [null, "Draw a digit first (or upload a photo), then click what it should be."];
    return [{ ...drawingRequest(), label }, null];
  }
  const digits = state.reading ? state.reading.digits : [];
  if (!hasInput() || !digits.length) return [null, "Write a number first, then choose a digit to teach."];
  if (state.selected === null) return [null, "Choose a digit first: click its box, or its picture under the answer."];
  return [{ ...drawingRequest(), label, box: digits[state.selected].box }, null];
}

async function teach(label) {
  if (state.teaching) return;
  const [request, problem] = teachRequest(label);
  if (problem) {
    showTeachStatus(problem, "error");
    state.askedToDraw = true; // until the person draws or chooses a digit
    return;
  }
  state.teaching = true;
  markBusy();
  setTeachButtons(false);
  const what = state.mode === "digit" ? "this is" : `digit ${state.selected + 1} is`;
  showTeachStatus(`Teaching it that ${what} ${label}…`, "");
  const generation = state.generation;
  try {
    const reading = await postJSON("/api/teach", request);
    // The copy is loaded before "done" shows, and nothing waits between the two:
    // a key pressed on "done" finds the buttons ready, not still teaching.
    await loadModel();
    if (generation === state.generation && state.mode === "digit") showReading(reading);
    const learnt = String(reading.prediction) === String(label);
    const passes = `${reading.passes} training pass${reading.passes === 1 ? "" : "es"}`;
    const drawing = state.mode === "digit" ? "this drawing" : `digit ${state.selected + 1}`;
    showTeachStatus(
      (learnt
        ? `Taught: it now reads ${drawing} as ${label} (${passes}). `
        : `After ${passes} it still reads ${reading.prediction}; try writing it more clearly. `)
        + reading.teaching.said,
      learnt ? "done" : "error",
    );
    if (state.mode === "number" && generation === state.generation) state.changed = true;
  } catch (error) {
    showTeachStatus(error.message, "error");
  } finally {
    state.teaching = false;
    setTeachButtons(true);
  }
  if (state.changed && hasInput()) drawingChanged();
  markBusy();
}

async function changeCopy(url) {
  // Undo the last lesson, or reset this browser's copy to the original model.
  const button = url === "/api/undo" ? elements["undo-lesson"] : elements["reset-copy"];
  if (state.teaching || button.getAttribute("aria-disabled") === "true") return;
  state.teaching = true;
  markBusy(); // the answer will change: it is read again with the copy
  setTeachButtons(false);
  try {
    const answer = await postJSON(url, {});
    await loadModel();
    showTeachStatus(answer.teaching.said, "done");
  } catch (error) {
    showTeachStatus(error.message, "error");
  } finally {
    state.teaching = false;
    setTeachButtons(true);
  }
  if (hasInput()) drawingChanged(); // read the drawing again with the copy
  markBusy();
}

async function loadModel() {
  const response = await fetch("/api/model");
  state.model = await response.json();
  const facts = state.model;
  const teaching = facts.teaching;
  const parts = [facts.architecture];
  if (facts.accuracy) parts.push(facts.accuracy);
  parts.push(facts.source);
  if (teaching.lessons) {
    const whose = teaching.shared ? "the server's shared copy" : "this browser's copy";
    parts.push(`taught ${teaching.lessons} drawing${teaching.lessons === 1 ? "" : "s"} (${whose})`);
  }
  const line = `Model: ${parts.join(" · ")}`;
  elements["model-line"].textContent = line;
  elements["model-line"].title = line;
  elements["model-facts"].textContent = `${line}. ${teaching.said}`;
  elements.preparation.textContent = facts.preparation;
  elements.download.hidden = teaching.lessons === 0;
  elements["teach-buttons"].hidden = !teaching.enabled;
  if (!teaching.enabled || teaching.dropped) showTeachStatus(teaching.said, "error");
  if (!teaching.enabled) elements["teach-intro"].hidden = true;
  showTeachIntro();
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

function showLine(element, text, kind) {
  element.textContent = text;
  element.className = `status ${kind || ""}`;
}

function showTeachStatus(text, kind) {
  showLine(elements["teach-status"], text, kind);
}

function setDisabled(button, disabled) {
  // aria-disabled, not disabled: a disabled button drops the keyboard focus to <body>.
  button.setAttribute("aria-disabled", String(disabled));
}

function setTeachButtons(enabled) {
  for (const button of elements["teach-buttons"].querySelectorAll("button")) {
    setDisabled(button, !enabled);
  }
  const teaching = state.model && state.model.teaching;
  setDisabled(elements["undo-lesson"], !enabled || !teaching || !teaching.can_undo);
  setDisabled(elements["reset-copy"], !enabled || !teaching || teaching.lessons === 0);
}

function buildBars(classes) {
  elements.bars.replaceChildren(...classes.map((label) => {
    const row = document.createElement("li");
    row.dataset.label = label;
    row.innerHTML = '<span class="label" aria-hidden="true"></span><span class="track" ' +
      'aria-hidden="true"><span class="fill"></span></span><span class="pct"></span>';
    row.querySelector(".label").textContent = label;
    return row;
  }));
  elements["teach-buttons"].replaceChildren(...classes.map((label) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.label = label;
    button.setAttribute("aria-label", `Teach it: ${label}`);
    button.addEventListener("click", () => {
      if (button.getAttribute("aria-disabled") !== "true") teach(label);
    });
    return button;
  }));
}

function showEmpty() {
  elements.answer.textContent = "?";
  elements.answer.classList.add("empty");
  elements.confidence.textContent = state.mode === "digit" ? "Draw to start" : "Write to start";
  for (const row of elements.bars.children) {
    row.classList.remove("top");
    row.querySelector(".fill").style.width = "0";
    row.querySelector(".pct").textContent = "";
  }
  paintGrey(elements.seen, null);
  elements.units.replaceChildren();
  state.reading = null;
  state.selected = null;
  elements.digits.replaceChildren();
  elements.boxes.replaceChildren();
  showTeachTarget();
  showLine(elements.status, "", "");
}

function percent(p, places = p < 0.1 || p > 0.99 ? 1 : 0) {
  // Whole percents in the middle, a decimal near 0 and 1; a probability below 1
  // never shows as 100% (a digit read at 99.7% is not certain).
  const shown = (100 * p).toFixed(places);
  if (p < 1 && Number(shown) >= 100) return `>${(100 - 10 ** -places).toFixed(places)}%`;
  return `${shown}%`;
}

function showReading(reading) {
  const best = reading.probabilities.indexOf(Math.max(...reading.probabilities));
  elements.answer.textContent = reading.prediction;
  elements.answer.classList.remove("empty");
  elements.confidence.textContent = `${percent(reading.probabilities[best], 1)} sure`;
  [...elements.bars.children].forEach((row, i) => {
    const p = reading.probabilities[i];
    row.classList.toggle("top", i === best);
    row.querySelector(".fill").style.width = `${100 * p}%`;
    row.querySelector(".pct").textContent = percent(p);
  });
  paintGrey(elements.seen, reading.input);
  showUnits(reading.units);
  showLine(elements.status, "", "");
}

// ------------------------------------------------------------------ number mode

function showNumber(reading) {
  state.reading = reading;
  const digits = reading.digits;
  if (state.selected !== null && state.selected >= digits.length) state.selected = null;
  elements.answer.textContent = reading.text ? reading.text.replace(/\n/g, " ") : "?";
  elements.answer.classList.toggle("empty", !reading.text);
  const unsure = digits.filter((digit) => !digit.vouched).length;
  elements.confidence.textContent = !digits.length ? "No digits found yet"
    : `${percent(reading.confidence, 1)} sure · ${digits.length} digit` +
      `${digits.length === 1 ? "" : "s"}` + (unsure ? ` · ${unsure} unsure (?)` : "");
  elements.digits.replaceChildren(...digits.map((digit, index) => digitItem(digit, index)));
  showBoxes();
  showTeachTarget();
  showLine(elements.status, "", "");
}

function digitItem(digit, index) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = digit.vouched ? "" : "unsure";
  button.setAttribute("aria-pressed", String(index === state.selected));
  const runnerUp = digit.candidates[1];
  const also = runnerUp ? `, then ${runnerUp[0]} ${percent(runnerUp[1])}` : "";
  button.setAttribute("aria-label", `Digit ${index + 1}: read as ${digit.digit}, ` +
    `${percent(digit.probability)}${digit.vouched ? "" : " (unsure)"}${also}. Choose to teach it.`);
  const canvas = document.createElement("canvas");
  const [rows, cols] = state.model.image_shape;
  canvas.width = cols;
  canvas.height = rows;
  paintGrey(canvas, digit.input);
  const read = document.createElement("span");
  read.className = "read";
  read.textContent = digit.text;
  const sure = document.createElement("span");
  sure.className = "sure";
  sure.textContent = percent(digit.probability);
  button.append(canvas, read, sure);
  button.addEventListener("click", () => selectDigit(index));
  item.append(button);
  return item;
}

function showBoxes() {
  // Each digit's box over the drawing (or photo), with what was read above it.
  const digits = state.reading ? state.reading.digits : [];
  const cssScale = pad.clientWidth / pad.width;
  const place = state.photo ? photoPlacement() : { scale: SHRINK.number, x: 0, y: 0 };
  const border = (pad.offsetWidth - pad.clientWidth) / 2;
  elements.boxes.replaceChildren(...digits.map((digit, index) => {
    const [x0, y0, x1, y1] = digit.box;
    const box = document.createElement("div");
    box.className = `box${digit.vouched ? "" : " unsure"}${index === state.selected ? " selected" : ""}`;
    const left = border + (place.x + x0 * place.scale) * cssScale;
    const top = border + (place.y + y0 * place.scale) * cssScale;
    box.style.left = `${left}px`;
    box.style.top = `${top}px`;
    box.style.width = `${(x1 - x0) * place.scale * cssScale}px`;
    box.style.height = `${(y1 - y0) * place.scale * cssScale}px`;
    if (top < 22) box.classList.add("low-tag"); // no room above: the tag goes below
    const tag = document.createElement("button");
    tag.type = "button";
    tag.className = "tag";
    tag.tabIndex = -1; // the pictures under the answer are the keyboard's way in
    tag.textContent = `${digit.text} ${percent(digit.probability, 0)}`;
    tag.title = `Teach digit ${index + 1}`;
    tag.addEventListener("click", () => selectDigit(index));
    box.append(tag);
    return box;
  }));
}

function selectDigit(index) {
  state.selected = index;
  if (state.askedToDraw) {
    state.askedToDraw = false;
    showTeachStatus("", "");
  }
  for (const [i, item] of [...elements.digits.children].entries()) {
    item.querySelector("button").setAttribute("aria-pressed", String(i === index));
  }
  showBoxes();
  showTeachTarget();
}

function showTeachIntro() {
  const shared = state.model && state.model.teaching.shared;
  const what = state.mode === "digit" ? "Click the digit you meant."
    : "Choose a digit (its box, or its picture), then what it should be.";
  const whose = shared ? "one copy of the model, shared by every browser, on it; the model " +
      "file is not changed."
    : "this browser's own copy of the model on it; other visitors and the model file are not " +
      "changed.";
  elements["teach-intro"].textContent = `${what} The server fine-tunes ${whose}`;
}

function showTeachTarget() {
  const target = elements["teach-target"];
  if (state.mode === "digit") {
    target.textContent = "";
    return;
  }
  const digits = state.reading ? state.reading.digits : [];
  if (state.selected === null || !digits[state.selected]) {
    target.textContent = digits.length ? "Choose the digit to teach: click its box." : "";
    return;
  }
  const digit = digits[state.selected];
  target.textContent = `Digit ${state.selected + 1} of ${digits.length}, read as ` +
    `${digit.text} (${percent(digit.probability)}): click what it should be.`;
}

window.addEventListener("resize", () => { if (state.mode === "number") showBoxes(); });

// ------------------------------------------------------------------ pictures

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
    document.body.dataset.ready = "true";
  } catch (error) {
    showLine(elements.status, `Could not load the model: ${error.message}`, "error");
  }
}

start();
