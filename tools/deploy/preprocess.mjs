// The evaluation preprocessing of the model, pixel for pixel as ml-inference (and torchvision on PIL
// images) computes it: the shorter side resized to the model's eval resize with PIL's antialiased
// bilinear filter (the longer side truncated as torchvision does), then the centre crop to the input
// size. The result is the uint8 [size, size, 3] RGB crop that model.onnx takes; the model itself
// scales and normalises it.
//
// The resampling follows PIL's Resample.c: a triangle filter widened by the scale when shrinking,
// weights normalised then rounded to 22 fractional bits, a horizontal pass over the rows the vertical
// pass reads, then the vertical pass, each rounding to uint8. JavaScript numbers are doubles, which
// compute the same weights as C's doubles and hold the integer sums exactly.

const WEIGHT_BITS = 22;
const WEIGHT_ONE = 1 << WEIGHT_BITS;
const HALF = 1 << (WEIGHT_BITS - 1);

function bilinearTaps(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = filterScale;
  const inverseFilterScale = 1.0 / filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * stride);
  const raw = new Float64Array(stride);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const start = Math.max(Math.trunc(centre - support + 0.5), 0);
    const n = Math.min(Math.trunc(centre + support + 0.5), inSize) - start;
    let total = 0;
    for (let k = 0; k < n; k++) {
      const x = Math.abs((k + start - centre + 0.5) * inverseFilterScale);
      raw[k] = x < 1.0 ? 1.0 - x : 0.0;
      total += raw[k];
    }
    for (let k = 0; k < n; k++) {
      const normalized = total !== 0.0 ? raw[k] / total : raw[k];
      weights[i * stride + k] = Math.trunc(normalized * WEIGHT_ONE + (normalized < 0 ? -0.5 : 0.5));
    }
    first[i] = start;
    count[i] = n;
  }
  return { stride, first, count, weights };
}

function clip(sum) {
  const value = Math.floor(sum / WEIGHT_ONE);
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

// `image`: {width, height, data} with 3 bytes per pixel (RGB), row-major.
function resizeBilinearAntialiased(image, width, height) {
  const vertical = bilinearTaps(image.height, height);
  const firstRow = vertical.first[0];
  const endRow = vertical.first[height - 1] + vertical.count[height - 1];
  let horizontal = { width: image.width, height: endRow - firstRow, data: image.data.subarray(firstRow * image.width * 3, endRow * image.width * 3) };
  if (width !== image.width) {
    const taps = bilinearTaps(image.width, width);
    const out = new Uint8Array((endRow - firstRow) * width * 3);
    for (let y = firstRow; y < endRow; y++) {
      const row = y * image.width * 3;
      const dst = (y - firstRow) * width * 3;
      for (let x = 0; x < width; x++) {
        let r = HALF, g = HALF, b = HALF;
        const base = x * taps.stride;
        let pixel = row + 3 * taps.first[x];
        for (let k = 0; k < taps.count[x]; k++, pixel += 3) {
          const w = taps.weights[base + k];
          r += image.data[pixel] * w;
          g += image.data[pixel + 1] * w;
          b += image.data[pixel + 2] * w;
        }
        out[dst + 3 * x] = clip(r);
        out[dst + 3 * x + 1] = clip(g);
        out[dst + 3 * x + 2] = clip(b);
      }
    }
    horizontal = { width, height: endRow - firstRow, data: out };
  }
  if (height === image.height) return horizontal;
  const rowValues = width * 3;
  const out = new Uint8Array(height * rowValues);
  const sums = new Float64Array(rowValues);
  for (let y = 0; y < height; y++) {
    sums.fill(HALF);
    const base = y * vertical.stride;
    for (let k = 0; k < vertical.count[y]; k++) {
      const w = vertical.weights[base + k];
      const src = (vertical.first[y] - firstRow + k) * rowValues;
      for (let i = 0; i < rowValues; i++) sums[i] += horizontal.data[src + i] * w;
    }
    const dst = y * rowValues;
    for (let i = 0; i < rowValues; i++) out[dst + i] = clip(sums[i]);
  }
  return { width, height, data: out };
}

// Python's round(): halves to the even neighbour.
function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

// RGBA (canvas ImageData, decoders) or RGB pixels to RGB; alpha is dropped as PIL's convert("RGB")
// and OpenCV's colour decoding drop it.
export function toRgb(data, width, height, channels) {
  if (channels === 3) return { width, height, data: Uint8Array.from(data) };
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    out[3 * i] = data[j];
    out[3 * i + 1] = data[j + 1];
    out[3 * i + 2] = data[j + 2];
  }
  return { width, height, data: out };
}

// torchvision Resize(evalResize) + CenterCrop(inputSize) of an RGB image: uint8 [inputSize, inputSize, 3].
export function preprocess(rgb, evalResize, inputSize) {
  const portrait = rgb.width <= rgb.height;
  const shortSide = portrait ? rgb.width : rgb.height;
  const longSide = portrait ? rgb.height : rgb.width;
  const newLong = Math.trunc((evalResize * longSide) / shortSide);
  const resized = portrait ? resizeBilinearAntialiased(rgb, evalResize, newLong) : resizeBilinearAntialiased(rgb, newLong, evalResize);
  if (resized.width < inputSize || resized.height < inputSize) {
    throw new Error(`the resized image ${resized.width}x${resized.height} is smaller than the crop ${inputSize}`);
  }
  const top = roundHalfEven((resized.height - inputSize) / 2);
  const left = roundHalfEven((resized.width - inputSize) / 2);
  const out = new Uint8Array(inputSize * inputSize * 3);
  for (let y = 0; y < inputSize; y++) {
    const src = ((top + y) * resized.width + left) * 3;
    out.set(resized.data.subarray(src, src + inputSize * 3), y * inputSize * 3);
  }
  return out;
}

// Index of the largest value.
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
