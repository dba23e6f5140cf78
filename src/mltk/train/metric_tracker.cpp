#include "mltk/train/metric_tracker.h"

#include <string>

namespace mltk::train {

bool MetricTracker::update(double value) {
  if (!has_best_ || (maximize_ ? value > best_ : value < best_)) {
    best_ = value;
    has_best_ = true;
    bad_epochs_ = 0;
    return true;
  }
  ++bad_epochs_;
  return false;
}

c10::IValue MetricTracker::state() const {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("best", best_);
  dict.insert("has_best", has_best_);
  dict.insert("bad_epochs", static_cast<int64_t>(bad_epochs_));
  return dict;
}

void MetricTracker::load_state(const c10::IValue& state) {
  const auto dict = state.toGenericDict();
  best_ = dict.at("best").toDouble();
  has_best_ = dict.at("has_best").toBool();
  bad_epochs_ = static_cast<int>(dict.at("bad_epochs").toInt());
}

bool is_maximized(const std::string& metric_name) { return metric_name.find("accuracy") != std::string::npos; }

}  // namespace mltk::train
