#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, CPU execution provider) so that the C++
// toolkit can validate and benchmark exports without linking ONNX Runtime itself.
//
// Usage:
//   node run_model.js --version                       prints {"onnxruntime": "<version>"}
//   node run_model.js REQUEST.json                    runs once, writes outputs
//   node run_model.js REQUEST.json --benchmark N [--warmup W]
//                                                     times N runs after W warm-up runs (default 5)
//
// REQUEST.json:
//   {"model": "m.onnx",
//    "inputs": [{"name": "input" (optional: defaults to the graph's i-th input),
//                "dims": [1, 3, 224, 224], "dtype": "float32" | "int64", "file": "in0.bin"}],
//    "outputs_dir": "out" (optional in benchmark mode),
//    "threads": 0 (intra-op threads; 0 lets ONNX Runtime choose)}
// Tensor files hold raw little-endian values, row-major. Relative paths resolve against the
// request's directory. Outputs go to outputs_dir/output_<i>.bin, described by
// outputs_dir/result.json: {"onnxruntime": version, "outputs": [{name, dims, dtype, file}]}.
//
// Exit codes: 0 success, 1 any error (the ONNX Runtime message is on stderr), 2 bad usage,
// 3 onnxruntime-node cannot be loaded. The C++ caller turns 3 into install instructions.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const EXIT_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_ORT_MISSING = 3;

// Only the element types the toolkit exchanges; the raw files are read as these typed arrays.
const DTYPES = {
  float32: Float32Array,
  int64: BigInt64Array,
};

function fail(code, message) {
  process.stderr.write(`run_model: ${message}\n`);
  process.exit(code);
}

function loadOrt() {
  // ONNX Runtime 1.30 enables telemetry by default, which leaves mat-debug-<pid>.log and .ses files
  // in TMPDIR on every run (and would try to upload events). It must be off before the native
  // module loads; an explicit setting by the user wins.
  if (process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
  try {
    return require('onnxruntime-node');
  } catch (err) {
    fail(EXIT_ORT_MISSING, `cannot load onnxruntime-node: ${err.message}`);
  }
}

function ortVersion(ort) {
  return ort.env.versions.node;
}

function parseArgs(argv) {
  const args = { request: null, benchmark: 0, warmup: 5, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--version') {
      args.version = true;
    } else if (arg === '--benchmark' || arg === '--warmup') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < (arg === '--benchmark' ? 1 : 0)) {
        fail(EXIT_USAGE, `${arg} needs a ${arg === '--benchmark' ? 'positive' : 'non-negative'} integer`);
      }
      args[arg.slice(2)] = value;
    } else if (args.request === null && !arg.startsWith('--')) {
      args.request = arg;
    } else {
      fail(EXIT_USAGE, `unexpected argument '${arg}'`);
    }
  }
  if (!args.version && args.request === null) {
    fail(EXIT_USAGE, 'usage: run_model.js --version | REQUEST.json [--benchmark N] [--warmup W]');
  }
  return args;
}

function readInput(ort, spec, baseDir, index) {
  const ArrayType = DTYPES[spec.dtype];
  if (!ArrayType) {
    throw new Error(`input ${index}: unsupported dtype '${spec.dtype}' (supported: ${Object.keys(DTYPES).join(', ')})`);
  }
  const file = path.resolve(baseDir, spec.file);
  const bytes = fs.readFileSync(file);
  const count = spec.dims.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * ArrayType.BYTES_PER_ELEMENT) {
    throw new Error(`input ${index}: ${file} has ${bytes.byteLength} bytes, dims [${spec.dims}] of ${spec.dtype} need ${count * ArrayType.BYTES_PER_ELEMENT}`);
  }
  // Copy into a fresh ArrayBuffer: a Buffer may sit at an offset that the typed array cannot use.
  const data = new ArrayType(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new ort.Tensor(spec.dtype, data, spec.dims);
}

function buildFeeds(ort, session, request, baseDir) {
  const specs = request.inputs || [];
  if (specs.length !== session.inputNames.length) {
    throw new Error(`model expects ${session.inputNames.length} input(s) [${session.inputNames.join(', ')}], request has ${specs.length}`);
  }
  const feeds = {};
  specs.forEach((spec, i) => {
    const name = spec.name || session.inputNames[i];
    if (!session.inputNames.includes(name)) {
      throw new Error(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    feeds[name] = readInput(ort, spec, baseDir, i);
  });
  return feeds;
}

function writeOutputs(results, session, outputsDir, version) {
  fs.mkdirSync(outputsDir, { recursive: true });
  const outputs = session.outputNames.map((name, i) => {
    const tensor = results[name];
    if (!DTYPES[tensor.type]) {
      throw new Error(`output '${name}' has unsupported type '${tensor.type}' (supported: ${Object.keys(DTYPES).join(', ')})`);
    }
    const file = `output_${i}.bin`;
    const data = tensor.data;
    fs.writeFileSync(path.join(outputsDir, file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return { name, dims: tensor.dims, dtype: tensor.type, file };
  });
  fs.writeFileSync(path.join(outputsDir, 'result.json'), JSON.stringify({ onnxruntime: version, outputs }));
}

function median(sorted) {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function benchmark(session, feeds, runs, warmup) {
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times = [];
  let results;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    results = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / runs;
  return { results, stats: { runs, warmup, mean_ms: mean, median_ms: median(times), min_ms: times[0], max_ms: times[runs - 1] } };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // The exchange files are little-endian; typed arrays use the host's byte order.
  if (os.endianness() !== 'LE') fail(EXIT_ERROR, 'only little-endian hosts are supported');
  const ort = loadOrt();
  const version = ortVersion(ort);
  if (args.version) {
    process.stdout.write(JSON.stringify({ onnxruntime: version }) + '\n');
    return;
  }

  const requestPath = path.resolve(args.request);
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  const baseDir = path.dirname(requestPath);
  const session = await ort.InferenceSession.create(path.resolve(baseDir, request.model), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: request.threads || 0,
  });
  const feeds = buildFeeds(ort, session, request, baseDir);

  let results;
  if (args.benchmark > 0) {
    const run = await benchmark(session, feeds, args.benchmark, args.warmup);
    results = run.results;
    process.stdout.write(JSON.stringify({ onnxruntime: version, threads: request.threads || 0, ...run.stats }) + '\n');
  } else {
    results = await session.run(feeds);
  }
  if (request.outputs_dir) {
    writeOutputs(results, session, path.resolve(baseDir, request.outputs_dir), version);
  } else if (args.benchmark === 0) {
    throw new Error('request has no outputs_dir');
  }
}

main().catch((err) => fail(EXIT_ERROR, err && err.message ? err.message : String(err)));
