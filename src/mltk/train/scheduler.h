#pragma once
// Learning-rate schedules, stepped once at the end of every epoch (scheduler.*).
#include "mltk/config/config.h"

#include <ATen/core/ivalue.h>

#include <memory>

namespace mltk::train {

class LrScheduler {
 public:
  explicit LrScheduler(double base_lr) : base_lr_(base_lr), lr_(base_lr) {}
  virtual ~LrScheduler() = default;

  // Called after epoch `epoch` (1-based) with the value of the monitored metric; returns the
  // learning rate for the next epoch.
  double step(int epoch, double monitored_value);
  double lr() const { return lr_; }

  // What a resumed run needs to continue the schedule exactly.
  c10::IValue state() const;
  void load_state(const c10::IValue& state);

 protected:
  virtual double next_lr(int epoch, double monitored_value) = 0;
  // Schedules that keep more than the current rate (plateau) add it here.
  virtual void save_extra(c10::impl::GenericDict&) const {}
  virtual void load_extra(const c10::impl::GenericDict&) {}

  double base_lr_;
  double lr_;
};

// `maximize` says whether a larger monitored value is better (accuracy) or worse (loss).
std::unique_ptr<LrScheduler> make_scheduler(const config::Config& config, bool maximize);

}  // namespace mltk::train
