// Runs an ONNX model with one float32 input in ONNX Runtime and writes its first output.
// Usage: node ort_run.js MODEL.onnx INPUT.bin D0,D1,... OUTPUT.bin
// INPUT.bin/OUTPUT.bin hold raw little-endian float32 values; the output's dims go to stdout as JSON.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, inputPath, dimsText, outputPath] = process.argv.slice(2);
  if (!outputPath) throw new Error('usage: node ort_run.js MODEL.onnx INPUT.bin D0,D1,... OUTPUT.bin');
  const session = await ort.InferenceSession.create(modelPath);
  const bytes = fs.readFileSync(inputPath);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const dims = dimsText.split(',').map(Number);
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
  const output = results[session.outputNames[0]];
  fs.writeFileSync(outputPath, Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength));
  process.stdout.write(JSON.stringify({ dims: output.dims, version: ort.env.versions.common }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
