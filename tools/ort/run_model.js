#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, CPU execution provider) so that the C++
// toolkit can validate and benchmark exports without linking ONNX Runtime itself.
//
// Usage:
//   node run_model.js --version                       prints {"onnxruntime": "<version>"}
//   node run_model.js --serve MODEL [--threads N] [--optimization LEVEL]
//                                                     one session, many runs over stdin/stdout
//   node run_model.js REQUEST.json                    runs once, writes outputs
//   node run_model.js REQUEST.json --benchmark N [--warmup W]
//                                                     times N runs after W warm-up runs (default 5)
//
// --serve (what the C++ runner uses): creates one InferenceSession for MODEL with N intra-op
// threads (0, the default, lets ONNX Runtime choose) and graph optimisation LEVEL (disabled, basic,
// extended or all, the default), then exchanges frames until stdin closes. A frame is
//   u32 little-endian length of the header | header: UTF-8 JSON | payload
// where the payload is the raw little-endian, row-major bytes of the tensors the header lists,
// back to back in the header's order (no padding); each tensor's size follows from its dtype and
// dims. dtypes: float32, float64, int64, int32, uint8, int8, bool (one byte each).
//   first frame written once the session exists:
//     {"op": "ready", "onnxruntime": version, "inputs": [names], "outputs": [names]}
//     or {"op": "error", "message": ONNX Runtime's message}, after which the process exits with 1
//   request:  {"op": "run", "inputs": [{"dtype", "dims", "name" (optional: the graph's i-th input)}]}
//   reply:    {"op": "result", "outputs": [{"name", "dtype", "dims"}]} + the outputs' bytes, in the
//             graph's output order; or {"op": "error", "message"} when ONNX Runtime rejects the run
//             (the session stays usable). A request that cannot be parsed is answered with an
//             error frame and ends the process, since the rest of the stream cannot be framed.
//   timing request: {"op": "time", "runs": N, "warmup": W, "inputs": [...]} + the inputs: W untimed
//             runs, then N runs each timed around session.run alone, so that the figures leave the
//             pipe out; reply {"op": "timings", "times_ms": [N numbers]} (no payload) or an error.
//
// REQUEST.json (file mode, used by the benchmark scripts):
//   {"model": "m.onnx",
//    "inputs": [{"name": "input" (optional: defaults to the graph's i-th input),
//                "dims": [1, 3, 224, 224], "dtype": "float32" | "int64" | ..., "file": "in0.bin"}],
//    "outputs_dir": "out" (optional in benchmark mode),
//    "threads": 0 (intra-op threads; 0 lets ONNX Runtime choose)}
// Tensor files hold raw little-endian values, row-major. Relative paths resolve against the
// request's directory. Outputs go to outputs_dir/output_<i>.bin, described by
// outputs_dir/result.json: {"onnxruntime": version, "outputs": [{name, dims, dtype, file}]}.
//
// Exit codes: 0 success (in --serve mode: stdin closed), 1 any error (the ONNX Runtime message is
// on stderr), 2 bad usage, 3 onnxruntime-node cannot be loaded. The C++ caller turns 3 into
// install instructions.
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
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
};
const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'];

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
  const args = { request: null, benchmark: 0, warmup: 5, version: false, serve: null, threads: 0, optimization: 'all' };
  const integerValue = (arg, value, minimum) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < minimum) {
      fail(EXIT_USAGE, `${arg} needs a ${minimum > 0 ? 'positive' : 'non-negative'} integer`);
    }
    return number;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--version') {
      args.version = true;
    } else if (arg === '--benchmark') {
      args.benchmark = integerValue(arg, argv[++i], 1);
    } else if (arg === '--warmup' || arg === '--threads') {
      args[arg.slice(2)] = integerValue(arg, argv[++i], 0);
    } else if (arg === '--serve') {
      args.serve = argv[++i];
      if (args.serve === undefined) fail(EXIT_USAGE, '--serve needs a model file');
    } else if (arg === '--optimization') {
      args.optimization = argv[++i];
      if (!OPTIMIZATION_LEVELS.includes(args.optimization)) {
        fail(EXIT_USAGE, `--optimization needs one of ${OPTIMIZATION_LEVELS.join(', ')}`);
      }
    } else if (args.request === null && !arg.startsWith('--')) {
      args.request = arg;
    } else {
      fail(EXIT_USAGE, `unexpected argument '${arg}'`);
    }
  }
  if (!args.version && args.request === null && args.serve === null) {
    fail(EXIT_USAGE, 'usage: run_model.js --version | --serve MODEL [--threads N] [--optimization LEVEL] | ' +
                     'REQUEST.json [--benchmark N] [--warmup W]');
  }
  return args;
}

function elementCount(dims, what) {
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${what}: dims must be a list of non-negative integers, got ${JSON.stringify(dims)}`);
  }
  return dims.reduce((a, b) => a * b, 1);
}

function arrayTypeOf(dtype, what) {
  const ArrayType = DTYPES[dtype];
  if (!ArrayType) {
    throw new Error(`${what}: unsupported dtype '${dtype}' (supported: ${Object.keys(DTYPES).join(', ')})`);
  }
  return ArrayType;
}

// The session's inputs in request order: named ones by name, the others by position.
function feedNames(session, specs) {
  if (specs.length !== session.inputNames.length) {
    throw new Error(`model expects ${session.inputNames.length} input(s) [${session.inputNames.join(', ')}], request has ${specs.length}`);
  }
  return specs.map((spec, i) => {
    const name = spec.name || session.inputNames[i];
    if (!session.inputNames.includes(name)) {
      throw new Error(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    return name;
  });
}

function readInput(ort, spec, baseDir, index) {
  const ArrayType = arrayTypeOf(spec.dtype, `input ${index}`);
  const file = path.resolve(baseDir, spec.file);
  const bytes = fs.readFileSync(file);
  const count = elementCount(spec.dims, `input ${index}`);
  if (bytes.byteLength !== count * ArrayType.BYTES_PER_ELEMENT) {
    throw new Error(`input ${index}: ${file} has ${bytes.byteLength} bytes, dims [${spec.dims}] of ${spec.dtype} need ${count * ArrayType.BYTES_PER_ELEMENT}`);
  }
  // Copy into a fresh ArrayBuffer: a Buffer may sit at an offset that the typed array cannot use.
  const data = new ArrayType(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new ort.Tensor(spec.dtype, data, spec.dims);
}

function buildFeeds(ort, session, request, baseDir) {
  const specs = request.inputs || [];
  const feeds = {};
  feedNames(session, specs).forEach((name, i) => {
    feeds[name] = readInput(ort, specs[i], baseDir, i);
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

// `warmup` untimed runs, then `runs` runs each timed around session.run alone, in run order.
async function timeRuns(session, feeds, runs, warmup) {
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times = [];
  let results;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    results = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { results, times };
}

async function benchmark(session, feeds, runs, warmup) {
  const { results, times } = await timeRuns(session, feeds, runs, warmup);
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / runs;
  return { results, stats: { runs, warmup, mean_ms: mean, median_ms: median(times), min_ms: times[0], max_ms: times[runs - 1] } };
}

function createSession(ort, modelPath, threads, optimization) {
  return ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: optimization,
    intraOpNumThreads: threads,
  });
}

// Writes one frame to stdout. Writes to a pipe are synchronous in Node on Linux, so the pieces go
// out in order without being copied into one buffer first.
function writeFrame(header, tensors = []) {
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.length, 0);
  process.stdout.write(length);
  process.stdout.write(text);
  for (const data of tensors) {
    if (data.byteLength > 0) process.stdout.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
}

// Collects stdin into frames: take(n) hands out the next n bytes, as a view of the received chunk
// when it holds them all, else as one fresh buffer.
class ByteQueue {
  constructor() {
    this.chunks = [];
    this.size = 0;
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  take(n) {
    this.size -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift(); else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafeSlow(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const count = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, count);
      filled += count;
      if (count === chunk.length) this.chunks.shift(); else this.chunks[0] = chunk.subarray(count);
    }
    return out;
  }
}

// A typed array over `bytes`, copied only when its offset is not a multiple of the element size.
function typedView(ArrayType, bytes, count) {
  if (bytes.byteOffset % ArrayType.BYTES_PER_ELEMENT === 0) return new ArrayType(bytes.buffer, bytes.byteOffset, count);
  return new ArrayType(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

// Parses a request header into the tensor layout of its payload; throws on anything malformed.
function parseRequest(text) {
  const request = JSON.parse(text);
  if (request === null || !['run', 'time'].includes(request.op) || !Array.isArray(request.inputs)) {
    throw new Error(`expected {"op": "run" or "time", "inputs": [...]}, got ${text.slice(0, 200)}`);
  }
  if (request.op === 'time' && !(Number.isSafeInteger(request.runs) && request.runs >= 1 &&
                                 Number.isSafeInteger(request.warmup) && request.warmup >= 0)) {
    throw new Error(`a time request needs runs >= 1 and warmup >= 0, got ${text.slice(0, 200)}`);
  }
  const layout = request.inputs.map((spec, i) => {
    const ArrayType = arrayTypeOf(spec.dtype, `input ${i}`);
    const count = elementCount(spec.dims, `input ${i}`);
    return { spec, ArrayType, count, bytes: count * ArrayType.BYTES_PER_ELEMENT };
  });
  return { op: request.op, runs: request.runs, warmup: request.warmup, layout,
           payloadBytes: layout.reduce((sum, tensor) => sum + tensor.bytes, 0) };
}

async function serve(ort, args) {
  let session;
  try {
    session = await createSession(ort, path.resolve(args.serve), args.threads, args.optimization);
  } catch (err) {
    writeFrame({ op: 'error', message: err && err.message ? err.message : String(err) });
    process.exit(EXIT_ERROR);
  }
  writeFrame({ op: 'ready', onnxruntime: ortVersion(ort), inputs: session.inputNames, outputs: session.outputNames });

  const queue = new ByteQueue();
  let headerLength = null;  // of the frame being received, once its first four bytes are in
  let request = null;       // its parsed header, once all of it is in
  let busy = false;

  const answer = async (parsed, feeds) => {
    if (parsed.op === 'time') {
      const { times } = await timeRuns(session, feeds, parsed.runs, parsed.warmup);
      writeFrame({ op: 'timings', times_ms: times });
      return;
    }
    const results = await session.run(feeds);
    const outputs = session.outputNames.map((name) => results[name]);
    outputs.forEach((tensor, i) => arrayTypeOf(tensor.type, `output '${session.outputNames[i]}'`));
    writeFrame({ op: 'result', outputs: outputs.map((tensor, i) => ({ name: session.outputNames[i], dtype: tensor.type, dims: tensor.dims })) },
               outputs.map((tensor) => tensor.data));
  };

  const runRequest = async (parsed, payload) => {
    const { layout } = parsed;
    try {
      const names = feedNames(session, layout.map((tensor) => tensor.spec));
      const feeds = {};
      let offset = 0;
      layout.forEach((tensor, i) => {
        const bytes = payload.subarray(offset, offset + tensor.bytes);
        offset += tensor.bytes;
        feeds[names[i]] = new ort.Tensor(tensor.spec.dtype, typedView(tensor.ArrayType, bytes, tensor.count), tensor.spec.dims);
      });
      await answer(parsed, feeds);
    } catch (err) {
      writeFrame({ op: 'error', message: err && err.message ? err.message : String(err) });
    }
  };

  // Answers the complete requests in the queue one at a time, in order; data arriving during a
  // run is picked up by the loop that is already going.
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (true) {
      if (headerLength === null) {
        if (queue.size < 4) break;
        headerLength = queue.take(4).readUInt32LE(0);
      }
      if (request === null) {
        if (queue.size < headerLength) break;
        const text = queue.take(headerLength).toString('utf8');
        try {
          request = parseRequest(text);
        } catch (err) {
          writeFrame({ op: 'error', message: `malformed request: ${err.message}` });
          process.exit(EXIT_ERROR);
        }
      }
      if (queue.size < request.payloadBytes) break;
      const payload = queue.take(request.payloadBytes);
      const complete = request;
      headerLength = null;
      request = null;
      await runRequest(complete, payload);
    }
    busy = false;
  };

  process.stdin.on('data', (chunk) => {
    queue.push(chunk);
    pump();
  });
  // The runner closes our stdin when it is done, or the kernel does when it dies.
  process.stdin.on('end', () => process.exit(0));
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
  if (args.serve !== null) {
    await serve(ort, args);
    return;
  }

  const requestPath = path.resolve(args.request);
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  const baseDir = path.dirname(requestPath);
  const session = await createSession(ort, path.resolve(baseDir, request.model), request.threads || 0, args.optimization);
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
