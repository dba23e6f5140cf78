#include "mltk/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mltk::data {
namespace {

// PIL's fixed-point weights carry 32 - 8 - 2 fractional bits (PRECISION_BITS in Resample.c).
constexpr int kWeightBits = 22;

// PIL's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter, with the
// same floating-point operations so that the rounded weights come out identical. Only for output
// positions [first_output, first_output + outputs): a window of a huge resize costs its own size.
ResampleTaps bilinear_taps(int in_size, int out_size, int first_output, int outputs) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's support is 1, widened when shrinking
  const double inverse_filter_scale = 1.0 / filter_scale;
  ResampleTaps taps;
  taps.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(outputs);
  taps.count.resize(outputs);
  taps.weights.assign(static_cast<size_t>(outputs) * taps.stride, 0);
  std::vector<double> raw(taps.stride);
  for (int position = 0; position < outputs; ++position) {
    const double centre = (first_output + position + 0.5) * scale;
    const int first = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int count = std::min(static_cast<int>(centre + support + 0.5), in_size) - first;
    double total = 0;
    for (int k = 0; k < count; ++k) {
      const double x = std::abs((k + first - centre + 0.5) * inverse_filter_scale);
      raw[k] = x < 1.0 ? 1.0 - x : 0.0;
      total += raw[k];
    }
    int32_t* weights = &taps.weights[static_cast<size_t>(position) * taps.stride];
    for (int k = 0; k < count; ++k) {
      const double normalized = total != 0.0 ? raw[k] / total : raw[k];
      weights[k] = static_cast<int32_t>(normalized * (1 << kWeightBits) + (normalized < 0 ? -0.5 : 0.5));
    }
    taps.first[position] = first;
    taps.count[position] = count;
  }
  return taps;
}

uchar clip_fixed_point(int32_t sum) { return static_cast<uchar>(std::clamp(sum >> kWeightBits, 0, 255)); }

// Resamples `in` along x into `out` (as many rows); taps' source columns are relative to `in`'s
// first column.
void resample_horizontally(const cv::Mat& in, const ResampleTaps& taps, cv::Mat& out) {
  for (int y = 0; y < out.rows; ++y) {
    const uchar* src = in.ptr<uchar>(y);
    uchar* dst = out.ptr<uchar>(y);
    for (int x = 0; x < out.cols; ++x) {
      const int32_t* weights = &taps.weights[static_cast<size_t>(x) * taps.stride];
      const uchar* pixel = src + 3 * taps.first[x];
      int32_t r = 1 << (kWeightBits - 1), g = r, b = r;
      for (int k = 0; k < taps.count[x]; ++k, pixel += 3) {
        r += pixel[0] * weights[k];
        g += pixel[1] * weights[k];
        b += pixel[2] * weights[k];
      }
      dst[3 * x] = clip_fixed_point(r);
      dst[3 * x + 1] = clip_fixed_point(g);
      dst[3 * x + 2] = clip_fixed_point(b);
    }
  }
}

// Resamples `in` along y into `out`; taps' source rows are relative to `in`'s first row. Whole
// rows are accumulated at once, which keeps the inner loop contiguous.
void resample_vertically(const cv::Mat& in, const ResampleTaps& taps, cv::Mat& out) {
  const int row_values = out.cols * 3;
  std::vector<int32_t> sums(row_values);
  for (int y = 0; y < out.rows; ++y) {
    std::fill(sums.begin(), sums.end(), 1 << (kWeightBits - 1));
    const int32_t* weights = &taps.weights[static_cast<size_t>(y) * taps.stride];
    for (int k = 0; k < taps.count[y]; ++k) {
      const uchar* src = in.ptr<uchar>(taps.first[y] + k);
      for (int i = 0; i < row_values; ++i) sums[i] += src[i] * weights[k];
    }
    uchar* dst = out.ptr<uchar>(y);
    for (int i = 0; i < row_values; ++i) dst[i] = clip_fixed_point(sums[i]);
  }
}

// Python's round(): halves go to the even neighbour (the default floating-point rounding mode).
int round_half_even(double value) { return static_cast<int>(std::nearbyint(value)); }

torch::Tensor blend(const torch::Tensor& image, const torch::Tensor& other, double factor) {
  return (factor * image + (1.0 - factor) * other).clamp(0.0, 1.0);
}

torch::Tensor grayscale(const torch::Tensor& chw) {
  return (0.2989 * chw[0] + 0.587 * chw[1] + 0.114 * chw[2]).unsqueeze(0);
}

// torchvision's _rgb2hsv / _hsv2rgb, written with the same tensor operations.
torch::Tensor rgb_to_hsv(const torch::Tensor& chw) {
  const auto r = chw[0], g = chw[1], b = chw[2];
  const auto maxc = std::get<0>(chw.max(0)), minc = std::get<0>(chw.min(0));
  const auto equal = maxc == minc;
  const auto ones = torch::ones_like(maxc);
  const auto chroma = maxc - minc;
  const auto s = chroma / torch::where(equal, ones, maxc);
  const auto divisor = torch::where(equal, ones, chroma);
  const auto rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
  const auto hr = (maxc == r).to(chw.dtype()) * (bc - gc);
  const auto hg = ((maxc == g) & (maxc != r)).to(chw.dtype()) * (2.0 + rc - bc);
  const auto hb = ((maxc != g) & (maxc != r)).to(chw.dtype()) * (4.0 + gc - rc);
  const auto h = torch::fmod((hr + hg + hb) / 6.0 + 1.0, 1.0);
  return torch::stack({h, s, maxc});
}

torch::Tensor hsv_to_rgb(const torch::Tensor& hsv) {
  const auto h = hsv[0], s = hsv[1], v = hsv[2];
  const auto i_float = torch::floor(h * 6.0);
  const auto f = h * 6.0 - i_float;
  const auto i = torch::remainder(i_float.to(torch::kInt32), 6);
  const auto p = (v * (1.0 - s)).clamp(0.0, 1.0);
  const auto q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
  const auto t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
  const auto mask = (i.unsqueeze(0) == torch::arange(6, i.options()).view({-1, 1, 1})).to(hsv.dtype());
  const auto a1 = torch::stack({v, q, p, p, t, v});
  const auto a2 = torch::stack({t, v, v, q, p, p});
  const auto a3 = torch::stack({p, p, t, v, v, q});
  return torch::einsum("ijk,xijk->xjk", {mask, torch::stack({a1, a2, a3})});
}

torch::Tensor adjust_hue(const torch::Tensor& chw, double hue_factor) {
  auto hsv = rgb_to_hsv(chw);
  hsv[0] = torch::remainder(hsv[0] + hue_factor, 1.0);
  return hsv_to_rgb(hsv);
}

}  // namespace

WindowedResize::WindowedResize(cv::Size input, cv::Size output, cv::Rect window) : window_(window) {
  if (input.width <= 0 || input.height <= 0) throw std::invalid_argument("resize of an empty image");
  if (window.x < 0 || window.y < 0 || window.width <= 0 || window.height <= 0 || window.x + window.width > output.width ||
      window.y + window.height > output.height)
    throw std::invalid_argument("resize window outside the " + std::to_string(output.width) + "x" +
                                std::to_string(output.height) + " output");
  // As PIL, an axis whose size does not change is not resampled (copied, not filtered).
  resample_columns_ = input.width != output.width;
  resample_rows_ = input.height != output.height;
  // Taps depend only on the sizes and the output position, so the window's taps are the full
  // resize's taps for those positions: the pixels come out identical.
  const auto window_taps = [](int in_size, int out_size, int first, int count, int& source_begin, int& source_end) {
    ResampleTaps taps = bilinear_taps(in_size, out_size, first, count);
    source_begin = taps.first.front();
    source_end = taps.first.back() + taps.count.back();
    for (int& index : taps.first) index -= source_begin;
    return taps;
  };
  int left = window.x, right = window.x + window.width, top = window.y, bottom = window.y + window.height;
  if (resample_columns_) columns_ = window_taps(input.width, output.width, window.x, window.width, left, right);
  if (resample_rows_) rows_ = window_taps(input.height, output.height, window.y, window.height, top, bottom);
  source_ = cv::Rect(left, top, right - left, bottom - top);
}

cv::Mat WindowedResize::operator()(const cv::Mat& source) const {
  CV_Assert(source.type() == CV_8UC3);
  if (source.size() != source_.size())
    throw std::invalid_argument("WindowedResize: expected the " + std::to_string(source_.width) + "x" +
                                std::to_string(source_.height) + " source region, got " + std::to_string(source.cols) +
                                "x" + std::to_string(source.rows));
  // As PIL: the horizontal pass first, over only the rows the vertical pass reads.
  cv::Mat horizontal = source;
  if (resample_columns_) {
    cv::Mat resampled(source.rows, window_.width, CV_8UC3);
    resample_horizontally(source, columns_, resampled);
    horizontal = resampled;
  }
  if (!resample_rows_) return resample_columns_ ? horizontal : source.clone();
  cv::Mat out(window_.height, window_.width, CV_8UC3);
  resample_vertically(horizontal, rows_, out);
  return out;
}

cv::Mat resize_bilinear_antialiased(const cv::Mat& rgb, int width, int height) {
  const WindowedResize resize(rgb.size(), cv::Size(width, height), cv::Rect(0, 0, width, height));
  return resize(rgb(resize.source()));
}

cv::Size shorter_side_resized(cv::Size input, int size) {
  // torchvision truncates the longer side: int(size * long / short).
  const bool portrait = input.width <= input.height;
  const int short_side = portrait ? input.width : input.height, long_side = portrait ? input.height : input.width;
  const int new_long = static_cast<int>(static_cast<int64_t>(size) * long_side / short_side);
  return portrait ? cv::Size(size, new_long) : cv::Size(new_long, size);
}

cv::Rect center_crop_box(cv::Size image, int size) {
  if (image.width < size || image.height < size)
    throw std::invalid_argument("center_crop: image " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                                " is smaller than the crop " + std::to_string(size));
  const int top = round_half_even((image.height - size) / 2.0), left = round_half_even((image.width - size) / 2.0);
  return {left, top, size, size};
}

WindowedResize resize_then_center_crop(cv::Size image, int resize, int size) {
  const cv::Size resized = shorter_side_resized(image, resize);
  return WindowedResize(image, resized, center_crop_box(resized, size));
}

CropBox random_resized_crop_params(int height, int width, const std::array<double, 2>& scale,
                                   const std::array<double, 2>& ratio, Random& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_ratio_low = std::log(ratio[0]), log_ratio_high = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale[0], scale[1]);
    const double aspect_ratio = std::exp(rng.uniform(log_ratio_low, log_ratio_high));
    const int w = round_half_even(std::sqrt(target_area * aspect_ratio));
    const int h = round_half_even(std::sqrt(target_area / aspect_ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = static_cast<int>(rng.uniform_int(0, height - h));
      const int left = static_cast<int>(rng.uniform_int(0, width - w));
      return {top, left, h, w};
    }
  }
  // No attempt fitted: the largest centred crop whose aspect ratio lies within `ratio`.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < std::min(ratio[0], ratio[1])) {
    h = round_half_even(w / std::min(ratio[0], ratio[1]));
  } else if (in_ratio > std::max(ratio[0], ratio[1])) {
    w = round_half_even(h * std::max(ratio[0], ratio[1]));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

cv::Mat random_resized_crop(const cv::Mat& rgb, int size, const std::array<double, 2>& scale,
                            const std::array<double, 2>& ratio, Random& rng) {
  const CropBox box = random_resized_crop_params(rgb.rows, rgb.cols, scale, ratio, rng);
  return resize_bilinear_antialiased(rgb(cv::Rect(box.left, box.top, box.width, box.height)), size, size);
}

DecodedImage decode_resized_crop(const std::vector<uchar>& jpeg, int reduction, const CropBox& box, int size) {
  // Each halving of the decode scale quarters the inverse-DCT work; stop while the box still
  // covers `size` pixels, so the result is never upsampled because of it. libjpeg scales by
  // 1/8 at most.
  int further = 1;
  while (reduction * further * 2 <= 8 && box.width / (further * 2) >= size && box.height / (further * 2) >= size)
    further *= 2;
  // The box's edges rounded to the nearest pixel of the further reduced image.
  const auto scaled = [further](int position) { return static_cast<int>(std::lround(static_cast<double>(position) / further)); };
  const int left = scaled(box.left), top = scaled(box.top);
  const cv::Rect region(left, top, std::max(scaled(box.left + box.width) - left, 1),
                        std::max(scaled(box.top + box.height) - top, 1));
  DecodedImage crop = decode_jpeg_region(jpeg, reduction * further, region);
  if (crop.ok()) crop.rgb = resize_bilinear_antialiased(crop.rgb, size, size);
  return crop;
}

cv::Mat horizontal_flip(const cv::Mat& rgb) {
  cv::Mat out;
  cv::flip(rgb, out, 1);
  return out;
}

torch::Tensor color_jitter(const torch::Tensor& chw, const ColorJitterOptions& options, Random& rng) {
  // As torchvision: a random order of the four adjustments, then each factor drawn uniformly from
  // [max(0, 1 - x), 1 + x] (hue: [-x, x]), whether or not that adjustment is enabled.
  std::array<int, 4> order{0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.uniform_int(0, i)]);
  const auto factor = [&rng](double x) { return rng.uniform(std::max(0.0, 1.0 - x), 1.0 + x); };
  const double brightness = factor(options.brightness), contrast = factor(options.contrast),
               saturation = factor(options.saturation), hue = rng.uniform(-options.hue, options.hue);
  torch::Tensor image = chw;
  for (int step : order) {
    if (step == 0 && options.brightness > 0) image = blend(image, torch::zeros_like(image), brightness);
    if (step == 1 && options.contrast > 0) image = blend(image, grayscale(image).mean(), contrast);
    if (step == 2 && options.saturation > 0) image = blend(image, grayscale(image), saturation);
    if (step == 3 && options.hue > 0) image = adjust_hue(image, hue);
  }
  return image;
}

torch::Tensor to_normalized_tensor(const cv::Mat& rgb, const std::array<double, 3>& mean,
                                   const std::array<double, 3>& std) {
  auto tensor = torch::empty({3, rgb.rows, rgb.cols}, torch::kFloat32);
  write_normalized(rgb, mean, std, tensor);
  return tensor;
}

void write_normalized(const cv::Mat& rgb, const std::array<double, 3>& mean, const std::array<double, 3>& std,
                      torch::Tensor& out) {
  const int height = rgb.rows, width = rgb.cols;
  if (out.sizes() != torch::IntArrayRef{3, height, width} || !out.is_contiguous() || out.dtype() != torch::kFloat32)
    throw std::invalid_argument("write_normalized: the output must be a contiguous float tensor of shape [3, " +
                                std::to_string(height) + ", " + std::to_string(width) + "]");
  float* values = out.data_ptr<float>();
  const size_t plane = static_cast<size_t>(height) * width;
  std::array<float, 3> scale{}, offset{};
  for (int c = 0; c < 3; ++c) {
    scale[c] = static_cast<float>(1.0 / (255.0 * std[c]));
    offset[c] = static_cast<float>(-mean[c] / std[c]);
  }
  for (int y = 0; y < height; ++y) {
    const uchar* row = rgb.ptr<uchar>(y);
    for (int x = 0; x < width; ++x) {
      const size_t at = static_cast<size_t>(y) * width + x;
      for (int c = 0; c < 3; ++c) values[c * plane + at] = row[3 * x + c] * scale[c] + offset[c];
    }
  }
}

TrainTransform::TrainTransform(const TrainTransformOptions& options) : options_(options) {}

std::string ImageTransform::decode_and_transform(const std::vector<uchar>& file, Random& rng, torch::Tensor& out) const {
  const DecodedImage decoded = decode_image(file, min_input_short_side());
  if (!decoded.ok()) return decoded.error;
  out.copy_((*this)(decoded.rgb, rng));
  return "";
}

torch::Tensor TrainTransform::operator()(const cv::Mat& rgb, Random& rng) const {
  auto tensor = torch::empty({3, options_.size, options_.size}, torch::kFloat32);
  flip_jitter_normalize(random_resized_crop(rgb, options_.size, options_.crop_scale, options_.crop_ratio, rng), rng, tensor);
  return tensor;
}

std::string TrainTransform::decode_and_transform(const std::vector<uchar>& file, Random& rng, torch::Tensor& out) const {
  const auto full_size = jpeg_size(file);
  if (!full_size) return ImageTransform::decode_and_transform(file, rng, out);
  // The box is drawn on the image OpenCV would have decoded (reduced as decode_image reduces it),
  // so the draws are the same whichever path decodes the file.
  const int reduction = reduced_decode_factor(full_size->width, full_size->height, min_input_short_side());
  const ImageSize size = reduced_size(*full_size, reduction);
  const Random before_crop = rng;
  const CropBox box = random_resized_crop_params(size.height, size.width, options_.crop_scale, options_.crop_ratio, rng);
  const DecodedImage crop = decode_resized_crop(file, reduction, box, options_.size);
  if (!crop.ok()) {
    rng = before_crop;
    return ImageTransform::decode_and_transform(file, rng, out);
  }
  flip_jitter_normalize(crop.rgb, rng, out);
  return "";
}

void TrainTransform::flip_jitter_normalize(const cv::Mat& crop, Random& rng, torch::Tensor& out) const {
  cv::Mat image = crop;
  if (rng.bernoulli(options_.horizontal_flip)) image = horizontal_flip(image);
  if (!options_.jitter.enabled()) {
    write_normalized(image, options_.mean, options_.std, out);
    return;
  }
  const torch::Tensor unit = color_jitter(to_normalized_tensor(image, {0, 0, 0}, {1, 1, 1}), options_.jitter, rng);
  const auto mean = torch::tensor({options_.mean[0], options_.mean[1], options_.mean[2]}, torch::kFloat32);
  const auto std = torch::tensor({options_.std[0], options_.std[1], options_.std[2]}, torch::kFloat32);
  out.copy_((unit - mean.view({3, 1, 1})) / std.view({3, 1, 1}));
}

int TrainTransform::min_input_short_side() const {
  // The smallest crop covers crop_scale[0] of the area. Reduced decoding may only go as far as
  // keeping that crop at least input_size pixels across, so the network never sees extra blur.
  return static_cast<int>(std::ceil(options_.size / std::sqrt(std::max(options_.crop_scale[0], 1e-6))));
}

EvalTransform::EvalTransform(const EvalTransformOptions& options) : options_(options) {}

torch::Tensor EvalTransform::operator()(const cv::Mat& rgb, Random&) const {
  const WindowedResize resize = resize_then_center_crop(rgb.size(), options_.resize, options_.size);
  return to_normalized_tensor(resize(rgb(resize.source())), options_.mean, options_.std);
}

std::string EvalTransform::decode_and_transform(const std::vector<uchar>& file, Random& rng, torch::Tensor& out) const {
  const auto full_size = jpeg_size(file);
  if (!full_size) return ImageTransform::decode_and_transform(file, rng, out);
  const WindowedResize resize =
      resize_then_center_crop(cv::Size(full_size->width, full_size->height), options_.resize, options_.size);
  const DecodedImage region = decode_jpeg_region(file, 1, resize.source());
  if (!region.ok()) return ImageTransform::decode_and_transform(file, rng, out);
  write_normalized(resize(region.rgb), options_.mean, options_.std, out);
  return "";
}

}  // namespace mltk::data
