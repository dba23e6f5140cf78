#include "mltk/report/thumbnails.h"

#include "mltk/data/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <numeric>

namespace mltk::report {

std::vector<Mistake> worst_mistakes(const pipeline::Predictions& predictions, const std::vector<data::Sample>& samples,
                                    size_t count, int side) {
  std::vector<size_t> wrong;
  for (size_t i = 0; i < predictions.labels.size(); ++i)
    if (predictions.labels[i] != predictions.predicted[i] && predictions.sample_indices.at(i) < samples.size())
      wrong.push_back(i);
  std::stable_sort(wrong.begin(), wrong.end(),
                   [&](size_t a, size_t b) { return predictions.confidence[a] > predictions.confidence[b]; });
  wrong.resize(std::min(wrong.size(), count));
  std::vector<Mistake> out;
  for (const size_t i : wrong) {
    const auto& sample = samples[predictions.sample_indices[i]];
    out.push_back({sample.path, predictions.labels[i], predictions.predicted[i], predictions.confidence[i],
                   thumbnail_jpeg(sample.path, side)});
  }
  return out;
}

std::string thumbnail_jpeg(const std::string& path, int side) {
  // Decoding at reduced scale keeps this fast for large photographs.
  const auto decoded = data::decode_image(path, side);
  if (!decoded.ok()) return {};
  const cv::Mat& rgb = decoded.rgb;
  const double scale = std::min(1.0, static_cast<double>(side) / std::max(rgb.cols, rgb.rows));
  cv::Mat small;
  cv::resize(rgb, small, cv::Size(std::max(1, static_cast<int>(rgb.cols * scale + 0.5)),
                                  std::max(1, static_cast<int>(rgb.rows * scale + 0.5))),
             0, 0, cv::INTER_AREA);
  cv::Mat bgr;
  cv::cvtColor(small, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80})) return {};
  return std::string(jpeg.begin(), jpeg.end());
}

}  // namespace mltk::report
