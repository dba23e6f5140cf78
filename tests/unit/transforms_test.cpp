// Transforms: the evaluation pipeline and the train crop decoding against torchvision, and the
// random train transforms' sampling statistics.
#include "mltk/benchmark/process_memory.h"
#include "mltk/common/subprocess.h"
#include "mltk/data/image_io.h"
#include "mltk/data/transforms.h"
#include "mltk/pipeline/transform_options.h"
#include "support/data_fixtures.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

using namespace mltk;
using data::Random;

torch::Tensor read_float32(const std::string& path, std::vector<int64_t> shape) {
  const std::string bytes = read_file(path);
  auto tensor = torch::empty(shape, torch::kFloat32);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(tensor.numel()) * sizeof(float));
  std::memcpy(tensor.data_ptr<float>(), bytes.data(), std::min(bytes.size(), tensor.numel() * sizeof(float)));
  return tensor;
}

std::vector<uchar> file_bytes(const std::string& path) {
  const auto file = data::read_file_bytes(path);
  EXPECT_TRUE(file.ok()) << path << ": " << file.error;
  return file.bytes;
}

// The pixels are torchvision's exactly; what remains is float rounding of the normalisation
// ((x / 255 - mean) / std there, x * scale + offset here). One grey level is 1 / (255 * std) > 0.017.
constexpr double kNormalisationRounding = 1e-5;

// Default and derived resizes (224 -> 256, 28 -> 32, 100 -> 114), shrinking and, for the small
// progressive JPEG at 299 -> 342, enlarging; the large image is where reduced decoding would differ;
// one portrait image. JPEGs decoded as the DataLoader does decode only the crop's source region.
TEST(Transforms, EvalTransformMatchesTorchvisionOnRealJpegs) {
  MLTK_REQUIRE_ORACLE();
  MLTK_REQUIRE_HYMENOPTERA();
  struct Case {
    const char* image;
    int input_size;
  };
  const Case cases[] = {{"train/ants/0013035.jpg", 224}, {"val/bees/1032546534_06907fe3b3.jpg", 224},
                        {"train/ants/175998972.jpg", 28},  {"train/ants/Nepenthes_rafflesiana_ant.jpg", 100},
                        {"train/ants/ant photos.jpg", 299}, {"train/ants/154124431_65460430f2.jpg", 224}};
  TempDir dir;
  for (const Case& c : cases) {
    const auto config = config::default_config({{"model.input_size", std::to_string(c.input_size)}});
    const int resize = config.resolved_eval_resize();
    const data::EvalTransform transform(pipeline::eval_transform_options(config));
    const std::string image = testkit::hymenoptera_dir() + "/" + c.image;
    const std::string size = std::to_string(c.input_size);
    const std::string shape =
        testkit::run_oracle("eval_transform.py", {image, dir.file("expected.bin"), std::to_string(resize), size});
    ASSERT_EQ(shape, "3 " + size + " " + size + "\n");
    const auto expected = read_float32(dir.file("expected.bin"), {3, c.input_size, c.input_size});
    // As the DataLoader calls it (file bytes in), and as a decoded image.
    torch::Tensor loaded = torch::empty_like(expected);
    Random rng(0);
    ASSERT_EQ(transform.decode_and_transform(file_bytes(image), rng, loaded), "");
    const auto decoded = data::decode_image(image, transform.min_input_short_side());
    ASSERT_TRUE(decoded.ok()) << decoded.error;
    const auto direct = transform(decoded.rgb, rng);
    for (const auto& ours : {loaded, direct}) {
      ASSERT_EQ(ours.sizes(), expected.sizes());
      EXPECT_LT((ours - expected).abs().max().item<double>(), kNormalisationRounding) << c.image << " at " << size;
    }
  }
}


// Every validation photograph: decoding only the crop's source region gives the tensor that decoding
// the whole image and transforming it gives (the test above ties the latter to torchvision).
TEST(Transforms, EvalTransformDecodingOnlyTheCropMatchesDecodingTheWholeImage) {
  MLTK_REQUIRE_HYMENOPTERA();
  const data::EvalTransform transform(pipeline::eval_transform_options(config::default_config()));
  int compared = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(testkit::hymenoptera_dir() + "/val")) {
    if (entry.path().extension() != ".jpg") continue;
    const auto bytes = file_bytes(entry.path().string());
    torch::Tensor region = torch::empty({3, 224, 224});
    Random rng(0);
    ASSERT_EQ(transform.decode_and_transform(bytes, rng, region), "") << entry.path();
    const auto decoded = data::decode_image(bytes);
    ASSERT_TRUE(decoded.ok()) << entry.path() << ": " << decoded.error;
    EXPECT_TRUE(torch::equal(region, transform(decoded.rgb, rng))) << entry.path();
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

// torchvision's resized_crop of `box` of `image` (PIL decode in full, crop, bilinear resize).
cv::Mat pil_resized_crop(const std::string& image, const data::CropBox& box, int size) {
  TempDir dir;
  const std::string shape = testkit::run_oracle(
      "resized_crop.py", {image, dir.file("crop.bin"), std::to_string(box.top), std::to_string(box.left),
                          std::to_string(box.height), std::to_string(box.width), std::to_string(size)});
  EXPECT_EQ(shape, std::to_string(size) + " " + std::to_string(size) + "\n");
  const std::string bytes = read_file(dir.file("crop.bin"));
  cv::Mat rgb(size, size, CV_8UC3);
  EXPECT_EQ(bytes.size(), rgb.total() * 3);
  std::memcpy(rgb.data, bytes.data(), std::min(bytes.size(), rgb.total() * 3));
  return rgb;
}

double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) {
  const cv::Scalar per_channel = cv::mean(cv::abs(a - b) + cv::abs(b - a));  // saturating uint8 |a - b|
  return (per_channel[0] + per_channel[1] + per_channel[2]) / 3.0;
}

const char* const kJpeg444 = "train/ants/0013035.jpg";                   // 768x512, no chroma subsampling
const char* const kJpeg420 = "train/ants/175998972.jpg";                 // 479x359, 4:2:0, odd size
const char* const kProgressiveJpeg = "train/ants/ant photos.jpg";        // 343x236, progressive 4:2:0
const char* const kLargeJpeg = "train/ants/Nepenthes_rafflesiana_ant.jpg";  // 1488x1984, 4:4:0

TEST(Transforms, BilinearResizeMatchesPil) {
  MLTK_REQUIRE_ORACLE();
  MLTK_REQUIRE_HYMENOPTERA();
  const std::string image = testkit::hymenoptera_dir() + "/" + kJpeg444;
  const auto decoded = data::decode_image(image);
  ASSERT_TRUE(decoded.ok()) << decoded.error;
  // Shrinking (antialiased), enlarging, and one of each along the two axes.
  for (const data::CropBox box : {data::CropBox{40, 60, 400, 500}, data::CropBox{100, 200, 150, 180},
                                  data::CropBox{0, 0, 512, 100}}) {
    const cv::Mat ours = data::resize_bilinear_antialiased(
        decoded.rgb(cv::Rect(box.left, box.top, box.width, box.height)), 224, 224);
    const cv::Mat expected = pil_resized_crop(image, box, 224);
    EXPECT_EQ(cv::norm(ours, expected, cv::NORM_INF), 0) << box.width << "x" << box.height;
  }
}

TEST(Transforms, JpegCropDecodingMatchesPilCropAndResize) {
  MLTK_REQUIRE_ORACLE();
  MLTK_REQUIRE_HYMENOPTERA();
  struct Case {
    const char* image;
    data::CropBox box;
    double mean_abs_bound;  // grey levels
  };
  // Boxes under twice 224 decode at full scale: the same libjpeg pixels as PIL's, the same
  // resize, so identical. Larger boxes decode at 1/2 or 1/4 scale, whose inverse DCT filters
  // differently from PIL's resize of the full decode: a little blur, off by ~1-2 grey levels.
  const Case cases[] = {
      {kJpeg444, {100, 200, 150, 180}, 0.0},  {kJpeg420, {37, 51, 300, 260}, 0.0},
      {kProgressiveJpeg, {10, 20, 200, 250}, 0.0}, {kLargeJpeg, {500, 300, 600, 500}, 3.0},
      {kLargeJpeg, {300, 200, 1200, 1000}, 3.0},
  };
  for (const Case& c : cases) {
    const std::string image = testkit::hymenoptera_dir() + "/" + c.image;
    const auto ours = data::decode_resized_crop(file_bytes(image), 1, c.box, 224);
    ASSERT_TRUE(ours.ok()) << c.image << ": " << ours.error;
    const double mean_abs = mean_abs_difference(ours.rgb, pil_resized_crop(image, c.box, 224));
    EXPECT_LE(mean_abs, c.mean_abs_bound) << c.image << " box " << c.box.width << "x" << c.box.height;
    std::cout << c.image << " " << c.box.width << "x" << c.box.height << ": mean |ours - PIL| = " << mean_abs << "\n";
  }
}

TEST(Transforms, TrainTransformDrawsTheSameCropsWhenDecodingOnlyTheCrop) {
  MLTK_REQUIRE_HYMENOPTERA();
  const data::TrainTransform transform(pipeline::train_transform_options(config::default_config()));
  for (const char* name : {kJpeg420, kProgressiveJpeg}) {
    const std::string image = testkit::hymenoptera_dir() + "/" + name;
    const auto decoded = data::decode_image(image, transform.min_input_short_side());
    ASSERT_TRUE(decoded.ok()) << decoded.error;
    const auto bytes = file_bytes(image);
    // These images are under 448 pixels high, so no crop is decoded at reduced scale and both
    // paths decode the same pixels.
    for (uint64_t sample = 0; sample < 20; ++sample) {
      Random whole = Random::for_sample(7, 0, sample), cropped = whole;
      const auto expected = transform(decoded.rgb, whole);
      torch::Tensor ours = torch::empty_like(expected);
      ASSERT_EQ(transform.decode_and_transform(bytes, cropped, ours), "");
      EXPECT_TRUE(torch::equal(ours, expected)) << name << " sample " << sample;
      EXPECT_EQ(whole.engine(), cropped.engine()) << "different number of draws";
    }
  }
}

// A window of a resize is the same pixels as that part of the whole resized image: shrinking,
// enlarging, one axis unchanged, windows at the edges and in the middle.
TEST(Transforms, WindowedResizeEqualsCroppingTheWholeResize) {
  cv::Mat image(97, 131, CV_8UC3);
  cv::randu(image, 0, 256);
  struct Case {
    cv::Size output;
    cv::Rect window;
  };
  const Case cases[] = {{{64, 50}, {0, 0, 64, 50}},    {{64, 50}, {7, 3, 20, 41}},   {{64, 50}, {44, 30, 20, 20}},
                        {{300, 211}, {0, 0, 9, 9}},     {{300, 211}, {150, 100, 150, 111}},
                        {{131, 40}, {10, 5, 100, 30}},  {{60, 97}, {3, 0, 50, 97}},  {{131, 97}, {1, 2, 3, 4}}};
  for (const Case& c : cases) {
    const data::WindowedResize resize(image.size(), c.output, c.window);
    const cv::Rect& source = resize.source();
    ASSERT_TRUE((source & cv::Rect(0, 0, image.cols, image.rows)) == source);
    const cv::Mat window = resize(image(source));
    const cv::Mat whole = data::resize_bilinear_antialiased(image, c.output.width, c.output.height);
    ASSERT_EQ(window.size(), c.window.size());
    EXPECT_EQ(cv::norm(window, whole(c.window), cv::NORM_INF), 0) << c.output << " " << c.window;
  }
  // The source region is what the window reads: a window in the middle of a shrink reads less.
  EXPECT_LT(data::WindowedResize(image.size(), {64, 50}, {7, 3, 20, 41}).source().width, image.cols);
  EXPECT_THROW(data::WindowedResize(image.size(), {64, 50}, {50, 0, 20, 10}), std::invalid_argument);
  EXPECT_THROW(data::WindowedResize(image.size(), {64, 50}, {0, 0, 10, 10})(image), std::invalid_argument);
  EXPECT_THROW(data::WindowedResize({0, 5}, {64, 50}, {0, 0, 10, 10}), std::invalid_argument);
}

// A one-pixel strip's resize to a 256 shorter side would be 1,024,000 x 256 pixels (786 MB); the
// centre crop's window is all that is computed.
TEST(Transforms, EvalTransformOfAnExtremeAspectRatioComputesOnlyTheCrop) {
  const cv::Mat strip(1, 4000, CV_8UC3, cv::Scalar(10, 200, 30));
  const data::EvalTransform transform(pipeline::eval_transform_options(config::default_config()));
  Random rng(0);
  const benchmark::ResidentGrowth growth;
  const torch::Tensor out = transform(strip, rng);
  if (const auto bytes = growth.peak_bytes()) EXPECT_LT(*bytes, 64 << 20);
  ASSERT_EQ(out.sizes(), (torch::IntArrayRef{3, 224, 224}));
  // A uniform image stays uniform: each channel is one normalised value.
  for (int c = 0; c < 3; ++c) EXPECT_EQ(out[c].max().item<float>(), out[c].min().item<float>());
}

TEST(Transforms, CenterCropRoundsLikeTorchvision) {
  cv::Mat image(5, 8, CV_8UC3);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 8; ++x) image.at<cv::Vec3b>(y, x) = {static_cast<uchar>(x), static_cast<uchar>(y), 0};
  // torchvision: top = round((5 - 2) / 2) = round(1.5) = 2, left = round((8 - 2) / 2) = 3.
  const cv::Mat crop = image(data::center_crop_box(image.size(), 2));
  EXPECT_EQ(crop.at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 0));
}

TEST(Transforms, ResizeKeepsAspectRatioAndTruncatesLikeTorchvision) {
  const cv::Size resized = data::shorter_side_resized(cv::Size(500, 375), 256);
  EXPECT_EQ(resized.height, 256);
  EXPECT_EQ(resized.width, 341);  // int(256 * 500 / 375) = int(341.33)
}

TEST(Transforms, RandomResizedCropSamplesWithinScaleAndRatio) {
  Random rng(123);
  const std::array<double, 2> scale{0.08, 1.0}, ratio{3.0 / 4.0, 4.0 / 3.0};
  double area_sum = 0;
  const int draws = 4000;
  for (int i = 0; i < draws; ++i) {
    const auto box = data::random_resized_crop_params(375, 500, scale, ratio, rng);
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_LE(box.top + box.height, 375);
    ASSERT_LE(box.left + box.width, 500);
    const double area = static_cast<double>(box.width) * box.height / (375.0 * 500.0);
    // Rounding the side lengths to whole pixels moves area and ratio slightly past the bounds.
    EXPECT_GE(area, 0.08 - 0.01);
    EXPECT_LE(area, 1.0);
    const double aspect = static_cast<double>(box.width) / box.height;
    EXPECT_GE(aspect, 0.75 - 0.02);
    EXPECT_LE(aspect, 4.0 / 3.0 + 0.02);
    area_sum += area;
  }
  // Large areas at extreme ratios do not fit and are redrawn, so the mean sits below the uniform
  // (0.08 + 1) / 2. torchvision's get_params gives 0.435 for a 500x375 image (4000 draws, seed 0);
  // 0.015 is about 3.5 standard errors of a 4000-draw mean.
  EXPECT_NEAR(area_sum / draws, 0.435, 0.015);
}

TEST(Transforms, RandomResizedCropFallsBackToACentredCropWithinRatio) {
  Random rng(1);
  // A 1000x10 strip: no crop with ratio in [3/4, 4/3] and 8% of the area fits in ten attempts.
  const auto box = data::random_resized_crop_params(10, 1000, {0.9, 1.0}, {0.75, 4.0 / 3.0}, rng);
  EXPECT_EQ(box.height, 10);
  EXPECT_EQ(box.width, 13);  // round(10 * 4/3)
  EXPECT_EQ(box.left, (1000 - 13) / 2);
}

TEST(Transforms, TrainTransformFlipsAboutHalfTheTime) {
  config::Config config = config::default_config({{"model.input_size", "16"}});
  config.transforms.crop_scale = {1.0, 1.0};
  config.transforms.crop_ratio = {4.0 / 3.0, 4.0 / 3.0};
  const data::TrainTransform transform(pipeline::train_transform_options(config));
  cv::Mat image(12, 16, CV_8UC3, cv::Scalar(0, 0, 0));
  image(cv::Rect(0, 0, 8, 12)).setTo(cv::Scalar(255, 255, 255));  // left half white
  int flipped = 0;
  const int draws = 2000;
  for (int i = 0; i < draws; ++i) {
    Random rng = Random::for_sample(42, 0, static_cast<uint64_t>(i));
    const auto out = transform(image, rng);
    if (out[0][8][0].item<float>() < out[0][8][15].item<float>()) ++flipped;  // white moved right
  }
  EXPECT_NEAR(flipped / static_cast<double>(draws), 0.5, 0.04);
}

TEST(Transforms, ColorJitterWithZeroFactorsIsIdentityAndStaysInRange) {
  Random rng(5);
  const auto image = torch::rand({3, 16, 16});
  EXPECT_TRUE(torch::allclose(data::color_jitter(image, {}, rng), image));
  const auto jittered = data::color_jitter(image, {0.4, 0.4, 0.4, 0.1}, rng);
  EXPECT_GE(jittered.min().item<float>(), 0.0f);
  EXPECT_LE(jittered.max().item<float>(), 1.0f + 1e-6f);
  EXPECT_FALSE(torch::allclose(jittered, image));
}

TEST(Transforms, HueShiftOfZeroRoundTripsThroughHsv) {
  Random rng(9);
  const auto image = torch::rand({3, 16, 16});
  // hue range [-1e-9, 1e-9]: only the RGB -> HSV -> RGB round trip remains.
  const auto out = data::color_jitter(image, {0, 0, 0, 1e-9}, rng);
  EXPECT_TRUE(torch::allclose(out, image, 1e-5, 1e-5));
}

TEST(ImageIo, ReducedDecodingKeepsTheNeededShortSide) {
  EXPECT_EQ(data::reduced_decode_factor(2000, 1600, 256), 4);  // 1600 / 4 = 400 >= 256; / 8 = 200 < 256
  EXPECT_EQ(data::reduced_decode_factor(500, 375, 256), 1);
  EXPECT_EQ(data::reduced_decode_factor(4000, 3000, 0), 1);
  TempDir dir;
  testkit::write_solid_image(dir.file("big.jpg"), {200, 100, 50}, 1200, 900);
  const auto decoded = data::decode_image(dir.file("big.jpg"), 224);
  ASSERT_TRUE(decoded.ok()) << decoded.error;
  EXPECT_EQ(decoded.rgb.cols, 300);
  EXPECT_EQ(decoded.rgb.rows, 225);
  const cv::Vec3b centre = decoded.rgb.at<cv::Vec3b>(100, 100);
  EXPECT_NEAR(centre[0], 200, 3);  // RGB order
  EXPECT_NEAR(centre[2], 50, 3);
}

TEST(ImageIo, RegionDecodingMatchesFullDecoding) {
  MLTK_REQUIRE_HYMENOPTERA();
  // 4:4:4, 4:2:0 with odd sizes (chroma upsampling at the region's edges), progressive.
  for (const char* name : {kJpeg444, kJpeg420, kProgressiveJpeg}) {
    const std::string image = testkit::hymenoptera_dir() + "/" + name;
    const auto full = data::decode_image(image);
    ASSERT_TRUE(full.ok()) << full.error;
    const cv::Rect region(37, 21, full.rgb.cols / 2, full.rgb.rows / 2);
    const auto part = data::decode_jpeg_region(file_bytes(image), 1, region);
    ASSERT_TRUE(part.ok()) << part.error;
    EXPECT_EQ(cv::norm(part.rgb, full.rgb(region), cv::NORM_INF), 0) << name;
  }
  // Reduced: the region of the image decode_image decodes at 1/2.
  const std::string image = testkit::hymenoptera_dir() + "/" + kLargeJpeg;
  const auto half = data::decode_image(image, 700);
  ASSERT_EQ(half.rgb.cols, 744);
  const cv::Rect region(101, 203, 500, 400);
  const auto part = data::decode_jpeg_region(file_bytes(image), 2, region);
  ASSERT_TRUE(part.ok()) << part.error;
  EXPECT_EQ(cv::norm(part.rgb, half.rgb(region), cv::NORM_INF), 0);
}

TEST(ImageIo, RegionDecodingReportsBadInput) {
  TempDir dir;
  testkit::write_solid_image(dir.file("small.jpg"), {200, 100, 50}, 64, 48);
  const auto bytes = file_bytes(dir.file("small.jpg"));
  EXPECT_EQ(data::decode_jpeg_region(bytes, 1, cv::Rect(32, 24, 40, 10)).error, "crop region outside the image");
  testkit::write_jpeg_without_image(dir.file("empty.jpg"));
  EXPECT_NE(data::decode_jpeg_region(file_bytes(dir.file("empty.jpg")), 1, cv::Rect(0, 0, 8, 8)).error.find("libjpeg"),
            std::string::npos);
  EXPECT_FALSE(data::decode_jpeg_region({'n', 'o', 't'}, 1, cv::Rect(0, 0, 8, 8)).ok());
}

TEST(ImageIo, FailuresAreReportedNotThrown) {
  TempDir dir;
  std::ofstream(dir.file("broken.jpg")) << "not a jpeg";
  EXPECT_FALSE(data::decode_image(dir.file("broken.jpg")).ok());
  EXPECT_FALSE(data::decode_image(dir.file("missing.png")).ok());
  EXPECT_EQ(data::decode_image(dir.file("missing.png")).error, "cannot open file");
}

}  // namespace
