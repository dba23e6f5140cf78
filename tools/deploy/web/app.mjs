// The page's logic: ONNX Runtime Web (WebAssembly) runs model.onnx, which takes the uint8 crop that
// preprocess.mjs computes exactly as ml-inference does and normalises it itself.
// window.mltkClassify(url) resolves to {index, label, probabilities} for automated checks.
import * as ort from "./ort.wasm.min.mjs";
import { argmax, preprocess, toRgb } from "./preprocess.mjs";

const here = new URL("./", import.meta.url).href;
ort.env.wasm.wasmPaths = here;
// WebAssembly threads need SharedArrayBuffer, which browsers only offer to cross-origin isolated
// pages (served with COOP/COEP headers); elsewhere ONNX Runtime must stay on one thread.
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

const about = document.getElementById("about");
const status = document.getElementById("status");

const model = await (await fetch(new URL("model.json", here))).json();
const session = await ort.InferenceSession.create(new URL("model.onnx", here).href, { executionProviders: ["wasm"] });
const weights = model.quantization ? `int8 (${model.quantization.format === "dynamic" ? "dynamic" : "static"})` : "float32";
about.textContent = `${model.architecture}, ${model.class_names.length} classes, input ${model.input_size}×${model.input_size} ` +
  `(resize ${model.eval_resize}), ${weights} weights; ${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? "" : "s"}`;

// Pixels exactly as the file holds them: no colour-profile conversion, no premultiplied alpha.
async function decode(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { colorSpace: "srgb" });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  return toRgb(data, canvas.width, canvas.height, 4);
}

async function classify(blob) {
  const start = performance.now();
  const size = model.input_size;
  const pixels = preprocess(await decode(blob), model.eval_resize, size);
  const outputs = await session.run({ image: new ort.Tensor("uint8", pixels, [1, size, size, 3]) });
  const probabilities = Array.from(outputs.probabilities.data);
  const index = argmax(probabilities);
  return { index, label: model.class_names[index], probabilities, milliseconds: performance.now() - start };
}

function show(result) {
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  const order = result.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  for (const [probability, index] of order) {
    const row = document.createElement("div");
    row.className = "row";
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = model.class_names[index];
    const track = document.createElement("div");
    track.className = "track";
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${(100 * probability).toFixed(1)}%`;
    track.append(bar);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${(100 * probability).toFixed(1)}%`;
    row.append(label, track, value);
    bars.append(row);
  }
  status.textContent = `${result.label} in ${result.milliseconds.toFixed(1)} ms (decode, preprocess and inference)`;
}

async function classifyAndShow(blob) {
  const preview = document.getElementById("preview");
  URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.style.display = "block";
  const result = await classify(blob);
  show(result);
  return result;
}

function classifyChosen(file) {
  classifyAndShow(file).catch((error) => {
    status.textContent = `Could not classify ${file.name}: ${error.message}`;
  });
}

window.mltkClassify = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const { index, label, probabilities } = await classifyAndShow(await response.blob());
  return { index, label, probabilities };
};

const drop = document.getElementById("drop");
document.getElementById("file").addEventListener("change", (event) => {
  if (event.target.files.length) classifyChosen(event.target.files[0]);
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) classifyChosen(event.dataTransfer.files[0]);
});
window.mltkReady = true;
