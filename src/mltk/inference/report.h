#pragma once
// The evaluation report of ml-inference: accuracy, per-class precision/recall/F1 and the
// confusion matrix, as text and as JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mltk::inference {

struct ClassScores {
  double precision = 0, recall = 0, f1 = 0;  // 0 when undefined (no predictions / no samples)
  int64_t support = 0;                       // samples whose true class it is
};

struct ClassificationReport {
  std::vector<std::string> class_names;
  int64_t num_samples = 0;
  double accuracy = 0;
  std::vector<ClassScores> per_class;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  // confusion[true][predicted]
  std::vector<std::vector<int64_t>> confusion;
};

ClassificationReport make_report(const std::vector<int64_t>& labels, const std::vector<int64_t>& predicted,
                                 const std::vector<std::string>& class_names);

nlohmann::json to_json(const ClassificationReport& report);
// A table for the console: per-class scores, then the confusion matrix.
std::string format_report(const ClassificationReport& report);

// ml-inference's report beside a checkpoint: <checkpoint stem>.test_report.json.
std::string test_report_path(const std::string& checkpoint_path);
// The accuracy in that report, when the file exists and holds one; a file that cannot be read is
// logged as a warning and gives nullopt, as the callers (model card, ml-report) can do without it.
std::optional<double> test_accuracy_beside(const std::string& checkpoint_path);

}  // namespace mltk::inference
