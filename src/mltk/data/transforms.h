#pragma once
// Image transforms equivalent to torchvision's: Resize, CenterCrop, RandomResizedCrop,
// RandomHorizontalFlip, ColorJitter, ToTensor + Normalize; and the train/eval pipelines built from
// them (pipeline/transform_options.h fills their options from a configuration).
#include "mltk/data/image_io.h"
#include "mltk/data/random.h"

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <array>

namespace mltk::data {

// Turns a decoded RGB uint8 image into a normalized float CHW tensor.
class ImageTransform {
 public:
  virtual ~ImageTransform() = default;
  virtual torch::Tensor operator()(const cv::Mat& rgb, Random& rng) const = 0;
  // Height and width of the tensors it produces.
  virtual int output_size() const = 0;
  // Decodes an image file's bytes and writes the transformed image into `out` (float
  // [3, output_size, output_size], typically a slice of a batch, so nothing is copied again).
  // Returns why the file could not be decoded, or "" on success; never throws on bad files. This
  // decodes the whole image (reduced to min_input_short_side()); transforms that use only part
  // of it override this to decode less, drawing the same random numbers as operator().
  virtual std::string decode_and_transform(const std::vector<uchar>& file, Random& rng, torch::Tensor& out) const;
  // The smallest short side the input needs to keep full quality; decoders may reduce larger
  // images down to it. 0: decode at full size.
  virtual int min_input_short_side() const { return 0; }
};

// For each output position along one axis of a resize: the first source index and its fixed-point
// weights.
struct ResampleTaps {
  int stride = 0;  // weights per output position (unused ones are 0)
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

// The part `window` of an `input`-sized image resized to `output` by resize_bilinear_antialiased,
// computed from only the source pixels it depends on (`source()`) and pixel for pixel the same as
// cropping the whole resized image. A centre crop after a resize thus reads and resamples less, and
// a JPEG decoder can stop at the source region.
class WindowedResize {
 public:
  WindowedResize(cv::Size input, cv::Size output, cv::Rect window);
  // The region of the input that the window's pixels are computed from.
  const cv::Rect& source() const { return source_; }
  // The window's pixels from the input's source() region (RGB uint8).
  cv::Mat operator()(const cv::Mat& source) const;

 private:
  cv::Rect window_, source_;
  bool resample_columns_ = false, resample_rows_ = false;
  ResampleTaps columns_, rows_;
};

// PIL's bilinear resize, which torchvision uses on PIL images: a triangle filter widened to cover
// every source pixel when shrinking (antialiased), weights and rounding as PIL computes them.
cv::Mat resize_bilinear_antialiased(const cv::Mat& rgb, int width, int height);
// The size torchvision's Resize(size) gives an image: the shorter side becomes `size`, the longer
// keeps the aspect ratio (truncated).
cv::Size shorter_side_resized(cv::Size input, int size);
// torchvision CenterCrop(size)'s box in an image of that size (which must be at least size x size).
cv::Rect center_crop_box(cv::Size image, int size);
// torchvision Resize(resize) then CenterCrop(size) of an image of size `image`, as the window of the
// resize that the crop keeps.
WindowedResize resize_then_center_crop(cv::Size image, int resize, int size);

struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};
// torchvision RandomResizedCrop.get_params: up to 10 attempts at a random area fraction in
// `scale` and log-uniform aspect ratio in `ratio`, then a centre crop clamped to `ratio`.
CropBox random_resized_crop_params(int height, int width, const std::array<double, 2>& scale,
                                   const std::array<double, 2>& ratio, Random& rng);
cv::Mat random_resized_crop(const cv::Mat& rgb, int size, const std::array<double, 2>& scale,
                            const std::array<double, 2>& ratio, Random& rng);
// RandomResizedCrop's crop and resize of a JPEG that decodes only `box` (in the coordinates of the
// image decoded at 1/reduction), at a further 1/2, 1/4 or 1/8 scale while the box stays at least
// `size` pixels across. Fails when libjpeg cannot decode the file.
DecodedImage decode_resized_crop(const std::vector<uchar>& jpeg, int reduction, const CropBox& box, int size);
cv::Mat horizontal_flip(const cv::Mat& rgb);

struct ColorJitterOptions {
  double brightness = 0, contrast = 0, saturation = 0, hue = 0;
  bool enabled() const { return brightness > 0 || contrast > 0 || saturation > 0 || hue > 0; }
};
// torchvision ColorJitter on a float CHW tensor in [0, 1]: factors drawn as torchvision does,
// the four adjustments applied in a random order.
torch::Tensor color_jitter(const torch::Tensor& chw, const ColorJitterOptions& options, Random& rng);

// ToTensor + Normalize: uint8 HWC RGB -> float CHW, (x / 255 - mean) / std.
torch::Tensor to_normalized_tensor(const cv::Mat& rgb, const std::array<double, 3>& mean,
                                   const std::array<double, 3>& std);
// The same into `out`, a contiguous float [3, rows, cols] tensor.
void write_normalized(const cv::Mat& rgb, const std::array<double, 3>& mean, const std::array<double, 3>& std,
                      torch::Tensor& out);

struct TrainTransformOptions {
  int size = 0;  // output side
  std::array<double, 2> crop_scale{}, crop_ratio{};
  double horizontal_flip = 0;  // probability
  ColorJitterOptions jitter;
  std::array<double, 3> mean{}, std{};
};

// RandomResizedCrop(size, crop_scale, crop_ratio) + RandomHorizontalFlip + ColorJitter (when any
// factor is set) + ToTensor + Normalize.
class TrainTransform : public ImageTransform {
 public:
  explicit TrainTransform(const TrainTransformOptions& options);
  torch::Tensor operator()(const cv::Mat& rgb, Random& rng) const override;
  int output_size() const override { return options_.size; }
  // JPEGs: draws the crop box from the size in the file's header, then decodes only that box
  // (decode_resized_crop). Other files, and JPEGs libjpeg rejects, go through OpenCV.
  std::string decode_and_transform(const std::vector<uchar>& file, Random& rng, torch::Tensor& out) const override;
  int min_input_short_side() const override;

 private:
  // RandomHorizontalFlip + ColorJitter + ToTensor + Normalize of the resized crop, into `out`.
  void flip_jitter_normalize(const cv::Mat& crop, Random& rng, torch::Tensor& out) const;

  TrainTransformOptions options_;
};

struct EvalTransformOptions {
  int resize = 0;  // shorter side after resizing
  int size = 0;    // side of the centre crop
  std::array<double, 3> mean{}, std{};
};

// Resize(resize) + CenterCrop(size) + ToTensor + Normalize, pixel for pixel as torchvision computes
// them on PIL images. Images are decoded at full scale: libjpeg's reduced-scale decoding would blur
// differently from PIL's resize of the full image.
class EvalTransform : public ImageTransform {
 public:
  explicit EvalTransform(const EvalTransformOptions& options);
  torch::Tensor operator()(const cv::Mat& rgb, Random& rng) const override;
  int output_size() const override { return options_.size; }
  // JPEGs: decodes only the rows and columns the centre crop's pixels depend on and resamples only
  // the crop. Other files, and JPEGs libjpeg rejects, go through OpenCV.
  std::string decode_and_transform(const std::vector<uchar>& file, Random& rng, torch::Tensor& out) const override;

 private:
  EvalTransformOptions options_;
};

}  // namespace mltk::data
