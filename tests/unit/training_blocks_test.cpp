// The pieces of the training loop on their own: schedules, loss, head freezing, metrics files,
// optimizer state round trip and the classification report.
#include "mltk/common/subprocess.h"
#include "mltk/config/config.h"
#include "mltk/inference/report.h"
#include "mltk/models/zoo.h"
#include "mltk/pipeline/loss.h"
#include "mltk/train/epoch_metrics.h"
#include "mltk/train/freeze.h"
#include "mltk/train/metric_tracker.h"
#include "mltk/train/optimizer.h"
#include "mltk/train/scheduler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace {

using namespace mltk;

config::Config scheduler_config(const std::string& yaml) {
  return config::parse_config("optimizer:\n  lr: 1.0\ntraining:\n  num_epochs: 10\n" + yaml, "test");
}

std::vector<double> rates(train::LrScheduler& scheduler, const std::vector<double>& metrics) {
  std::vector<double> out;
  for (size_t i = 0; i < metrics.size(); ++i) out.push_back(scheduler.step(static_cast<int>(i) + 1, metrics[i]));
  return out;
}

TEST(TrainingBlocks, StepSchedulerDecaysEveryStepSizeEpochs) {
  auto scheduler = train::make_scheduler(scheduler_config("scheduler:\n  name: step\n  step_size: 2\n  gamma: 0.5\n"), true);
  const auto lr = rates(*scheduler, {0, 0, 0, 0, 0});
  const std::vector<double> expected = {1.0, 0.5, 0.5, 0.25, 0.25};
  for (size_t i = 0; i < lr.size(); ++i) EXPECT_DOUBLE_EQ(lr[i], expected[i]) << i;
}

TEST(TrainingBlocks, CosineSchedulerReachesMinLrAtTMaxAndStaysThere) {
  auto scheduler =
      train::make_scheduler(scheduler_config("scheduler:\n  name: cosine\n  t_max: 4\n  min_lr: 0.1\n"), true);
  const auto lr = rates(*scheduler, {0, 0, 0, 0, 0});
  EXPECT_NEAR(lr[0], 0.1 + 0.9 * (1 + std::cos(M_PI / 4)) / 2, 1e-12);
  EXPECT_NEAR(lr[1], 0.55, 1e-12);
  EXPECT_NEAR(lr[3], 0.1, 1e-12);
  EXPECT_NEAR(lr[4], 0.1, 1e-12);
  // Without t_max the period is training.num_epochs.
  auto whole_run = train::make_scheduler(scheduler_config("scheduler:\n  name: cosine\n"), true);
  EXPECT_NEAR(rates(*whole_run, std::vector<double>(10, 0)).back(), 0.0, 1e-12);
}

TEST(TrainingBlocks, PlateauSchedulerDecaysAfterPatienceEpochsWithoutImprovementAndRoundTripsState) {
  const auto config = scheduler_config("scheduler:\n  name: plateau\n  patience: 1\n  factor: 0.5\n  min_lr: 0.2\n");
  auto scheduler = train::make_scheduler(config, true);
  // Accuracy improves, then stalls: the second stalled epoch exceeds patience 1.
  EXPECT_EQ(rates(*scheduler, {0.5, 0.6, 0.6}), (std::vector<double>{1.0, 1.0, 1.0}));
  EXPECT_DOUBLE_EQ(scheduler->step(4, 0.55), 0.5);
  auto restored = train::make_scheduler(config, true);
  restored->load_state(scheduler->state());
  EXPECT_DOUBLE_EQ(restored->lr(), 0.5);
  for (int epoch = 5; epoch < 9; ++epoch) EXPECT_DOUBLE_EQ(restored->step(epoch, 0.1), scheduler->step(epoch, 0.1));
  EXPECT_DOUBLE_EQ(restored->lr(), 0.2);  // floored at min_lr
}

TEST(TrainingBlocks, MetricTrackerCountsEpochsWithoutImprovement) {
  train::MetricTracker loss(false);
  EXPECT_TRUE(loss.update(1.0));
  EXPECT_FALSE(loss.update(1.0));
  EXPECT_FALSE(loss.update(2.0));
  EXPECT_EQ(loss.epochs_without_improvement(), 2);
  EXPECT_TRUE(loss.update(0.5));
  EXPECT_EQ(loss.epochs_without_improvement(), 0);
  EXPECT_TRUE(train::is_maximized("val_accuracy"));
  EXPECT_FALSE(train::is_maximized("val_loss"));
}

TEST(TrainingBlocks, CrossEntropyWithLabelSmoothingMatchesTheSmoothedTargetFormula) {
  torch::manual_seed(0);
  const auto logits = torch::randn({5, 4}, torch::kDouble);
  const auto targets = torch::tensor({0, 3, 1, 1, 2}, torch::kLong);
  const double eps = 0.2;
  const auto smoothed = torch::full({5, 4}, eps / 4, torch::kDouble).scatter(1, targets.unsqueeze(1), 1 - eps + eps / 4);
  const double expected = -(smoothed * torch::log_softmax(logits, 1)).sum(1).mean().item<double>();
  EXPECT_NEAR(pipeline::cross_entropy(logits, targets, eps).item<double>(), expected, 1e-12);
  const double plain = -torch::log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).mean().item<double>();
  EXPECT_NEAR(pipeline::cross_entropy(logits, targets, 0.0).item<double>(), plain, 1e-12);
}

TEST(TrainingBlocks, FreezeBackboneLeavesOnlyTheClassifierHeadTrainable) {
  const std::map<std::string, std::vector<std::string>> heads = {
      {"tiny_net", {"fc.weight", "fc.bias"}},
      {"simple_cnn", {"fc2.weight", "fc2.bias"}},
      {"resnet18", {"fc.weight", "fc.bias"}},
      {"mobilenet_v3_small", {"classifier.3.weight", "classifier.3.bias"}},
  };
  for (const auto& [architecture, expected] : heads) {
    auto model = models::create_model({architecture, 3, 32});
    EXPECT_EQ(train::freeze_backbone(*model, 3), expected) << architecture;
    for (const auto& item : model->named_parameters()) {
      const bool in_head = std::find(expected.begin(), expected.end(), item.key()) != expected.end();
      EXPECT_EQ(item.value().requires_grad(), in_head) << architecture << " " << item.key();
    }
  }
  auto model = models::create_model({"tiny_net", 3, 32});
  EXPECT_THROW(train::freeze_backbone(*model, 7), std::runtime_error);
}

TEST(TrainingBlocks, OptimizerStateRoundTripsThroughBytes) {
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    config::Config::Optimizer options;
    options.name = name;
    options.lr = 0.1;
    options.momentum = 0.9;
    auto weight = torch::ones({3}, torch::requires_grad());
    auto original = train::make_optimizer(options, {weight});
    (weight * weight).sum().backward();
    original->step();
    auto copy_weight = weight.detach().clone().requires_grad_();
    auto copy = train::make_optimizer(options, {copy_weight});
    train::deserialize_optimizer(*copy, train::serialize_optimizer(*original));
    // The same next step from the same state gives the same weights.
    for (auto* w : {&weight, &copy_weight}) {
      if (w->grad().defined()) w->mutable_grad().zero_();
    }
    (weight * weight).sum().backward();
    (copy_weight * copy_weight).sum().backward();
    original->step();
    copy->step();
    EXPECT_TRUE(torch::allclose(weight, copy_weight)) << name;
  }
}

TEST(TrainingBlocks, MetricsFilesRoundTrip) {
  TempDir dir;
  const std::vector<train::EpochMetrics> history = {{1, 0.9, 0.5, 0.8, 0.6, 0.01, 2.5, 100.0},
                                                    {2, 0.7, 0.7, 0.6, 0.75, 0.001, 2.0, 125.0}};
  train::write_metrics(history, dir.file("m.csv"), dir.file("m.json"));
  EXPECT_EQ(read_file(dir.file("m.csv")),
            "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,epoch_seconds,images_per_second\n"
            "1,0.9,0.5,0.8,0.6,0.01,2.5,100\n2,0.7,0.7,0.6,0.75,0.001,2,125\n");
  const auto back = train::read_metrics_json(dir.file("m.json"));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].epoch, 2);
  EXPECT_DOUBLE_EQ(back[1].val_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(back[0].images_per_second, 100.0);
}

TEST(TrainingBlocks, ClassificationReportCountsPerClass) {
  // true:      0 0 0 1 1 2
  // predicted: 0 0 1 1 2 2
  const auto report = inference::make_report({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(report.accuracy, 4.0 / 6);
  EXPECT_EQ(report.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  EXPECT_DOUBLE_EQ(report.per_class[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(report.per_class[0].recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(report.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(report.per_class[2].f1, 2 * 0.5 * 1.0 / 1.5);
  EXPECT_EQ(report.per_class[1].support, 2);
  const auto json = inference::to_json(report);
  EXPECT_EQ(json["per_class"]["c"]["support"], 1);
}

}  // namespace
