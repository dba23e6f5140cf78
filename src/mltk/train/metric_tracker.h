#pragma once
// Follows one metric across epochs: its best value and how many epochs passed without improving
// on it. Early stopping, the plateau scheduler and best.pt selection are all built on it.
#include <ATen/core/ivalue.h>

namespace mltk::train {

class MetricTracker {
 public:
  // `maximize` is true for accuracies, false for losses.
  explicit MetricTracker(bool maximize) : maximize_(maximize) {}

  // Records one epoch's value; returns true when it is strictly better than every earlier one.
  bool update(double value);
  bool has_best() const { return has_best_; }
  double best() const { return best_; }
  int epochs_without_improvement() const { return bad_epochs_; }
  // Starts counting again after the plateau scheduler has acted on a stall.
  void reset_count() { bad_epochs_ = 0; }

  c10::IValue state() const;
  void load_state(const c10::IValue& state);

 private:
  bool maximize_;
  bool has_best_ = false;
  double best_ = 0.0;
  int bad_epochs_ = 0;
};

// True for metrics where larger is better ("val_accuracy"), false for losses ("val_loss").
bool is_maximized(const std::string& metric_name);

}  // namespace mltk::train
