#!/usr/bin/env node
// Classifies JPEG and PNG images with the model of this deployment folder in ONNX Runtime (Node),
// preprocessing them as ml-inference does (preprocess.mjs); model.onnx normalises the pixels itself.
//
//   npm ci                           once, in this folder (installs onnxruntime-node, jpeg-js, pngjs)
//   node classify.mjs IMAGE...       one JSON line per image:
//                                    {"image", "index", "label", "probabilities"}
//
// Exit codes: 0 every image classified, 1 some image could not be read or decoded (reported on
// stderr, the others are still classified), 2 no image given.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import jpeg from "jpeg-js";
import pngjs from "pngjs";
import { argmax, preprocess, toRgb } from "./preprocess.mjs";

// ONNX Runtime would otherwise leave telemetry files in the temporary folder on every run; it must be
// off before the native module loads, hence the dynamic import.
process.env.ORT_DISABLE_TELEMETRY ??= "1";
const ortModule = await import("onnxruntime-node");
const ort = ortModule.default ?? ortModule;

const deployment = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const model = JSON.parse(fs.readFileSync(path.join(deployment, "model.json"), "utf8"));

// Decoded RGB pixels of a JPEG or PNG file, told apart by their signatures.
function decode(bytes) {
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    return toRgb(image.data, image.width, image.height, 3);
  }
  if (bytes.length > 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    const image = pngjs.PNG.sync.read(bytes);
    return toRgb(image.data, image.width, image.height, 4);
  }
  throw new Error("not a JPEG or PNG file");
}

const images = process.argv.slice(2);
if (images.length === 0) {
  process.stderr.write("usage: node classify.mjs IMAGE...\n");
  process.exit(2);
}
const session = await ort.InferenceSession.create(path.join(deployment, "model.onnx"));
const size = model.input_size;
let failures = 0;
for (const image of images) {
  let pixels;
  try {
    pixels = preprocess(decode(fs.readFileSync(image)), model.eval_resize, size);
  } catch (error) {
    process.stderr.write(`${image}: ${error.message}\n`);
    failures++;
    continue;
  }
  const outputs = await session.run({ image: new ort.Tensor("uint8", pixels, [1, size, size, 3]) });
  const probabilities = Array.from(outputs.probabilities.data);
  const index = argmax(probabilities);
  process.stdout.write(JSON.stringify({ image, index, label: model.class_names[index], probabilities }) + "\n");
}
process.exit(failures === 0 ? 0 : 1);
