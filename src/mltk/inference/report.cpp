#include "mltk/inference/report.h"

#include "mltk/common/logging.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace mltk::inference {

namespace {
double ratio(int64_t numerator, int64_t denominator) {
  return denominator > 0 ? static_cast<double>(numerator) / denominator : 0.0;
}
}  // namespace

ClassificationReport make_report(const std::vector<int64_t>& labels, const std::vector<int64_t>& predicted,
                                 const std::vector<std::string>& class_names) {
  const size_t n = class_names.size();
  ClassificationReport report;
  report.class_names = class_names;
  report.num_samples = static_cast<int64_t>(labels.size());
  report.confusion.assign(n, std::vector<int64_t>(n, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    ++report.confusion.at(labels[i]).at(predicted[i]);
    correct += labels[i] == predicted[i];
  }
  report.accuracy = ratio(correct, report.num_samples);
  for (size_t c = 0; c < n; ++c) {
    int64_t predicted_as_c = 0;
    for (size_t t = 0; t < n; ++t) predicted_as_c += report.confusion[t][c];
    ClassScores scores;
    const int64_t hits = report.confusion[c][c];
    for (const auto count : report.confusion[c]) scores.support += count;
    scores.precision = ratio(hits, predicted_as_c);
    scores.recall = ratio(hits, scores.support);
    const double sum = scores.precision + scores.recall;
    scores.f1 = sum > 0 ? 2 * scores.precision * scores.recall / sum : 0.0;
    report.macro_precision += scores.precision / n;
    report.macro_recall += scores.recall / n;
    report.macro_f1 += scores.f1 / n;
    report.per_class.push_back(scores);
  }
  return report;
}

nlohmann::json to_json(const ClassificationReport& report) {
  nlohmann::json classes = nlohmann::json::object();
  for (size_t c = 0; c < report.class_names.size(); ++c) {
    const auto& s = report.per_class[c];
    classes[report.class_names[c]] = {
        {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
  }
  return {{"num_samples", report.num_samples},
          {"accuracy", report.accuracy},
          {"class_names", report.class_names},
          {"per_class", classes},
          {"macro_avg", {{"precision", report.macro_precision}, {"recall", report.macro_recall}, {"f1", report.macro_f1}}},
          {"confusion_matrix", report.confusion}};
}

std::string format_report(const ClassificationReport& report) {
  // Wide enough for "macro avg" and for the confusion rows' "<index> <name>" labels.
  size_t width = 9;
  for (const auto& name : report.class_names) width = std::max(width, name.size() + 4);
  std::string text = fmt::format("Accuracy: {:.4f} ({} images)\n\n", report.accuracy, report.num_samples);
  text += fmt::format("{:<{}}  precision  recall  f1      support\n", "class", width);
  for (size_t c = 0; c < report.class_names.size(); ++c) {
    const auto& s = report.per_class[c];
    text += fmt::format("{:<{}}  {:<9.4f}  {:<6.4f}  {:<6.4f}  {}\n", report.class_names[c], width, s.precision,
                        s.recall, s.f1, s.support);
  }
  text += fmt::format("{:<{}}  {:<9.4f}  {:<6.4f}  {:<6.4f}  {}\n\n", "macro avg", width, report.macro_precision,
                      report.macro_recall, report.macro_f1, report.num_samples);
  text += "Confusion matrix (rows: true class, columns: predicted)\n";
  text += fmt::format("{:<{}}", "", width);
  for (size_t c = 0; c < report.class_names.size(); ++c) text += fmt::format("  {:>6}", c);
  text += "\n";
  for (size_t t = 0; t < report.class_names.size(); ++t) {
    text += fmt::format("{:<{}}", fmt::format("{} {}", t, report.class_names[t]), width);
    for (const auto count : report.confusion[t]) text += fmt::format("  {:>6}", count);
    text += "\n";
  }
  return text;
}

std::string test_report_path(const std::string& checkpoint_path) {
  return std::filesystem::path(checkpoint_path).replace_extension(".test_report.json").string();
}

std::optional<double> test_accuracy_beside(const std::string& checkpoint_path) {
  const std::string report = test_report_path(checkpoint_path);
  if (!std::filesystem::is_regular_file(report)) return std::nullopt;
  try {
    const auto accuracy = nlohmann::json::parse(std::ifstream(report)).at("accuracy");
    if (accuracy.is_number()) return accuracy.get<double>();
  } catch (const nlohmann::json::exception& e) {
    log::warning("{} cannot be read ({}); its test accuracy is left out", report, e.what());
    return std::nullopt;
  }
  log::warning("{} holds no accuracy; it is left out", report);
  return std::nullopt;
}

}  // namespace mltk::inference
