#include "mltk/train/scheduler.h"

#include "mltk/train/metric_tracker.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mltk::train {

double LrScheduler::step(int epoch, double monitored_value) {
  lr_ = next_lr(epoch, monitored_value);
  return lr_;
}

c10::IValue LrScheduler::state() const {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("lr", lr_);
  save_extra(dict);
  return dict;
}

void LrScheduler::load_state(const c10::IValue& state) {
  const auto dict = state.toGenericDict();
  lr_ = dict.at("lr").toDouble();
  load_extra(dict);
}

namespace {

class ConstantScheduler : public LrScheduler {
 public:
  using LrScheduler::LrScheduler;

 protected:
  double next_lr(int, double) override { return lr_; }
};

// Multiplies the rate by gamma every step_size epochs, as torch.optim.lr_scheduler.StepLR.
class StepScheduler : public LrScheduler {
 public:
  StepScheduler(double base_lr, int step_size, double gamma)
      : LrScheduler(base_lr), step_size_(step_size), gamma_(gamma) {}

 protected:
  double next_lr(int epoch, double) override { return base_lr_ * std::pow(gamma_, epoch / step_size_); }

 private:
  int step_size_;
  double gamma_;
};

// Half a cosine from the base rate down to min_lr over t_max epochs, as CosineAnnealingLR's closed
// form; it stays at min_lr afterwards instead of rising again.
class CosineScheduler : public LrScheduler {
 public:
  CosineScheduler(double base_lr, int t_max, double min_lr) : LrScheduler(base_lr), t_max_(t_max), min_lr_(min_lr) {}

 protected:
  double next_lr(int epoch, double) override {
    const double progress = std::min(1.0, static_cast<double>(epoch) / t_max_);
    return min_lr_ + (base_lr_ - min_lr_) * (1.0 + std::cos(M_PI * progress)) / 2.0;
  }

 private:
  int t_max_;
  double min_lr_;
};

// Multiplies the rate by `factor` (not below min_lr) when the monitored metric has not improved
// for more than `patience` epochs, as ReduceLROnPlateau with threshold 0 and no cooldown.
class PlateauScheduler : public LrScheduler {
 public:
  PlateauScheduler(double base_lr, int patience, double factor, double min_lr, bool maximize)
      : LrScheduler(base_lr), patience_(patience), factor_(factor), min_lr_(min_lr), tracker_(maximize) {}

 protected:
  double next_lr(int, double value) override {
    tracker_.update(value);
    if (tracker_.epochs_without_improvement() <= patience_) return lr_;
    tracker_.reset_count();
    return std::max(min_lr_, lr_ * factor_);
  }
  void save_extra(c10::impl::GenericDict& dict) const override { dict.insert("tracker", tracker_.state()); }
  void load_extra(const c10::impl::GenericDict& dict) override { tracker_.load_state(dict.at("tracker")); }

 private:
  int patience_;
  double factor_, min_lr_;
  MetricTracker tracker_;
};

}  // namespace

std::unique_ptr<LrScheduler> make_scheduler(const config::Config& config, bool maximize) {
  const auto& s = config.scheduler;
  const double lr = config.optimizer.lr;
  if (s.name == "none") return std::make_unique<ConstantScheduler>(lr);
  if (s.name == "step") return std::make_unique<StepScheduler>(lr, s.step_size, s.gamma);
  if (s.name == "cosine")
    return std::make_unique<CosineScheduler>(lr, s.t_max.value_or(config.training.num_epochs), s.min_lr);
  if (s.name == "plateau") return std::make_unique<PlateauScheduler>(lr, s.patience, s.factor, s.min_lr, maximize);
  throw std::invalid_argument("scheduler.name: unknown scheduler '" + s.name + "' (none, step, cosine or plateau)");
}

}  // namespace mltk::train
