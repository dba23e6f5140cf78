// Transforms: the evaluation pipeline against torchvision, and the random train transforms'
// sampling statistics.
#include "mltk/common/subprocess.h"
#include "mltk/data/image_io.h"
#include "mltk/data/transforms.h"
#include "support/data_fixtures.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
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

// PIL's antialiased bilinear filter and OpenCV's INTER_AREA weight source pixels differently when
// shrinking, so outputs differ by a few grey levels at edges; on the whole image the mean
// difference stays below ~1.5 grey levels (0.025 after normalisation by std ~0.225).
constexpr double kMeanAbsBound = 0.025;

TEST(Transforms, EvalTransformMatchesTorchvisionOnRealJpegs) {
  MLTK_REQUIRE_ORACLE();
  MLTK_REQUIRE_HYMENOPTERA();
  const config::Config config = config::default_config();
  const data::EvalTransform transform(config);
  TempDir dir;
  for (const std::string name : {"train/ants/0013035.jpg", "val/bees/1032546534_06907fe3b3.jpg"}) {
    const std::string image = testkit::hymenoptera_dir() + "/" + name;
    const std::string shape = testkit::run_oracle("eval_transform.py", {image, dir.file("expected.bin")});
    ASSERT_EQ(shape, "3 224 224\n");
    const auto expected = read_float32(dir.file("expected.bin"), {3, 224, 224});
    // Full decode as well as reduced: the oracle always decodes at full size.
    const auto decoded = data::decode_image(image);
    ASSERT_TRUE(decoded.ok()) << decoded.error;
    Random rng(0);
    const auto ours = transform(decoded.rgb, rng);
    ASSERT_EQ(ours.sizes(), expected.sizes());
    const double mean_abs = (ours - expected).abs().mean().item<double>();
    EXPECT_LT(mean_abs, kMeanAbsBound) << name;
    std::cout << name << ": mean |ours - torchvision| = " << mean_abs << "\n";
  }
}

TEST(Transforms, CenterCropRoundsLikeTorchvision) {
  cv::Mat image(5, 8, CV_8UC3);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 8; ++x) image.at<cv::Vec3b>(y, x) = {static_cast<uchar>(x), static_cast<uchar>(y), 0};
  // torchvision: top = round((5 - 2) / 2) = round(1.5) = 2, left = round((8 - 2) / 2) = 3.
  const cv::Mat crop = data::center_crop(image, 2);
  EXPECT_EQ(crop.at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 0));
}

TEST(Transforms, ResizeKeepsAspectRatioAndTruncatesLikeTorchvision) {
  const cv::Mat image(375, 500, CV_8UC3, cv::Scalar(10, 20, 30));
  const cv::Mat resized = data::resize_shorter_side(image, 256);
  EXPECT_EQ(resized.rows, 256);
  EXPECT_EQ(resized.cols, 341);  // int(256 * 500 / 375) = int(341.33)
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
  const data::TrainTransform transform(config);
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

TEST(ImageIo, FailuresAreReportedNotThrown) {
  TempDir dir;
  std::ofstream(dir.file("broken.jpg")) << "not a jpeg";
  EXPECT_FALSE(data::decode_image(dir.file("broken.jpg")).ok());
  EXPECT_FALSE(data::decode_image(dir.file("missing.png")).ok());
  EXPECT_EQ(data::decode_image(dir.file("missing.png")).error, "cannot open file");
}

}  // namespace
