#include "mltk/train/trainer.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/logging.h"
#include "mltk/data/data_loader.h"
#include "mltk/models/zoo.h"
#include "mltk/pipeline/dataset.h"
#include "mltk/pipeline/loss.h"
#include "mltk/pipeline/model_builder.h"
#include "mltk/pipeline/predict.h"
#include "mltk/pipeline/transform_options.h"
#include "mltk/train/data_parallel.h"
#include "mltk/train/device.h"
#include "mltk/train/epoch_metrics.h"
#include "mltk/train/freeze.h"
#include "mltk/train/interrupt.h"
#include "mltk/train/metric_tracker.h"
#include "mltk/train/optimizer.h"
#include "mltk/train/progress.h"
#include "mltk/train/run_state.h"
#include "mltk/train/scheduler.h"
#include "mltk/train/training_state.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

namespace mltk::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct EpochTotals {
  double loss_sum = 0.0;
  int64_t correct = 0, images = 0;
  double seconds = 0.0;
  double seconds_waiting_for_gradients = 0.0;  // data-parallel: all-reduce time backward did not hide
  size_t steps = 0;
  bool interrupted = false;
};

// One pass over this process's share of the training loader. The loss is checked before every
// backward pass so that a diverged run stops at the first bad batch instead of writing NaN weights.
// Data-parallel processes agree on both checks at every step, so that all of them stop at the same
// batch and none waits for a peer that has left the loop.
EpochTotals train_one_epoch(models::ClassifierImpl& model, torch::optim::Optimizer& optimizer, data::DataLoader& loader,
                            DataParallel& parallel, const torch::Device& device, double label_smoothing,
                            const std::string& label, int epoch) {
  model.train();
  EpochTotals totals;
  const auto start = Clock::now();
  const double waited_before = parallel.seconds_waiting_for_gradients();
  std::optional<EpochProgress> progress;
  if (parallel.is_leader()) progress.emplace(label, loader.num_batches());
  const auto finish_progress = [&] {
    if (progress) progress->finish();
  };
  while (auto batch = loader.next()) {
    const auto images = batch->images.to(device);
    const auto labels = batch->labels.to(device);
    const auto logits = model.forward(images);
    const auto loss = pipeline::cross_entropy(logits, labels, label_smoothing);
    const double loss_value = loss.item<double>();
    if (parallel.on_any_process(!std::isfinite(loss_value), "agreeing whether the loss is finite")) {
      finish_progress();
      const std::string value = std::isfinite(loss_value) ? "non-finite on another rank" : fmt::format("{}", loss_value);
      throw std::runtime_error(fmt::format("the training loss became {} at epoch {}, batch {}: training diverged; "
                                           "lower optimizer.lr or check the data",
                                           value, epoch, totals.steps + 1));
    }
    optimizer.zero_grad();
    loss.backward();
    parallel.average_gradients();
    optimizer.step();
    const int64_t n = labels.size(0);
    totals.loss_sum += loss_value * n;
    totals.correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    totals.images += n;
    ++totals.steps;
    if (progress) progress->update(totals.steps, static_cast<size_t>(totals.images), totals.loss_sum / totals.images);
    if (parallel.on_any_process(interrupt_requested(), "agreeing whether a signal ends the run")) {
      totals.interrupted = true;
      break;
    }
  }
  finish_progress();
  totals.seconds = seconds_since(start);
  totals.seconds_waiting_for_gradients = parallel.seconds_waiting_for_gradients() - waited_before;
  return totals;
}

checkpoint::Checkpoint make_checkpoint(const models::ClassifierImpl& model, const config::Config& config,
                                       const std::vector<std::string>& class_names, int epoch) {
  checkpoint::Checkpoint out;
  for (auto& [name, tensor] : checkpoint::state_dict_of(model)) out.model_state_dict.emplace_back(name, tensor.cpu());
  out.model = {config.model.type, config.model.zoo_name(), static_cast<int64_t>(class_names.size()),
               config.model.input_size, config.resolved_eval_resize()};
  out.class_names = class_names;
  out.normalization = {config.transforms.mean, config.transforms.std};
  out.epoch = epoch;
  out.config = config.to_yaml();
  return out;
}

data::LoaderOptions loader_options(const config::Config& config, bool shuffle) {
  data::LoaderOptions options;
  options.batch_size = config.training.batch_size;
  options.shuffle = shuffle;
  options.seed = static_cast<uint64_t>(config.training.seed);
  options.num_workers = config.data.num_workers;
  return options;
}

// This process's share of a split. Training shards are padded to equal length so that every
// process takes the same number of steps; validation shards are not, so every image counts once.
data::LoaderOptions shard_options(data::LoaderOptions options, const DataParallel& parallel, bool pad) {
  options.num_shards = static_cast<size_t>(parallel.world_size());
  options.shard = static_cast<size_t>(parallel.rank());
  options.pad_shards = pad;
  return options;
}

}  // namespace

TrainResult train(const config::Config& config, const TrainOptions& options) {
  const auto layout = pipeline::dataset_layout(config);
  if (!std::filesystem::is_directory(layout.raw_dir))
    throw std::runtime_error("dataset folder " + layout.raw_dir +
                             " does not exist; put the images there as <class name>/<image> (data.data_dir, data.dataset_name)");
  std::vector<std::string> class_names;
  pipeline::resolve_num_classes(config, class_names);
  const auto fold = config.data.fold;
  if (fold >= config.data.num_folds)
    throw std::runtime_error(fmt::format("data.fold is {} but data.num_folds is {}", fold, config.data.num_folds));
  auto train_samples = pipeline::load_split(layout, data::fold_index_path(layout.splits_dir, fold, "train"), class_names);
  auto val_samples = pipeline::load_split(layout, data::fold_index_path(layout.splits_dir, fold, "val"), class_names);
  auto test_samples = pipeline::load_split(layout, data::test_index_path(layout.splits_dir), class_names);
  const torch::Device device = resolve_device(config.training.device);

  DataParallel parallel(options.collectives);
  // Rank 0 alone writes the run folder; the others only read weights/last.pt when resuming.
  const bool leader = parallel.is_leader();
  TrainResult result;
  const auto folder_path = run_folder_path(config, options.runs_dir);
  result.folder = leader ? prepare_run_folder(folder_path, options.existing_run) : RunFolder{folder_path};
  const RunFolder& folder = result.folder;
  RunStatus status;
  status.folder = folder;
  status.config = config;
  status.class_names = class_names;
  const auto report_progress = [&] {
    write_run_state(status);
    if (options.on_progress) options.on_progress(status);
  };
  if (leader) {
    log::add_file(folder.log_file());
    write_file_atomically(folder.config_file(), config.to_yaml());
  }
  log::info("Run folder: {}", folder.root);
  log::info("Data: {} classes, {} train / {} val / {} test images (fold {})", class_names.size(), train_samples.size(),
            val_samples.size(), test_samples.size(), fold);

  auto built = pipeline::build_model(config, static_cast<int64_t>(class_names.size()));
  auto& model = *built.model;
  log::info("Model: {} ({}), weights: {}", built.architecture, config.model.type, built.weights_source);
  for (const auto& layer : built.fresh_layers) log::info("  new classifier tensor (not from weights): {}", layer);
  if (config.model.freeze_backbone) {
    const auto trainable = freeze_backbone(model, static_cast<int64_t>(class_names.size()));
    log::info("Backbone frozen; training only {}", fmt::join(trainable, ", "));
  }
  model.to(device);
  std::vector<torch::Tensor> parameters;
  for (const auto& p : model.parameters())
    if (p.requires_grad()) parameters.push_back(p);
  status.model = {built.architecture, built.weights_source, device.str(), models::count_parameters(model), 0};
  for (const auto& p : parameters) status.model.trainable_parameters += p.numel();

  const std::string& monitor = config.training.early_stopping_monitor;
  auto optimizer = make_optimizer(config.optimizer, parameters);
  auto scheduler = make_scheduler(config, is_maximized(monitor));
  MetricTracker best_accuracy(true), early_stopping(is_maximized(monitor));
  const TrainingState state{*optimizer, *scheduler, best_accuracy, early_stopping};
  auto& history = status.history;
  int start_epoch = 0;
  if (options.existing_run == ExistingRun::resume) {
    checkpoint::Checkpoint last;
    try {
      last = checkpoint::load_checkpoint(folder.last_checkpoint());
      checkpoint::load_state_dict(model, last.model_state_dict, folder.last_checkpoint());
      restore_training_state(last, state, folder.last_checkpoint());
      status.resumed_after = restore_resumes(last, folder.last_checkpoint());
    } catch (const std::exception& error) {
      throw std::runtime_error(std::string("--resume cannot continue from ") + error.what() +
                               "; the run cannot be resumed from this file: start it again with --overwrite");
    }
    start_epoch = static_cast<int>(last.epoch);
    if (leader) history = read_metrics_json(folder.metrics_json());
    history.resize(std::min<size_t>(history.size(), start_epoch));
    // Resumes recorded after this checkpoint was written belong to a history that is discarded.
    auto& resumes = status.resumed_after;
    resumes.erase(std::remove_if(resumes.begin(), resumes.end(), [&](int64_t epoch) { return epoch >= start_epoch; }),
                  resumes.end());
    status.resumed_after.push_back(start_epoch);
    log::info("Resuming after epoch {} from {}", start_epoch, folder.last_checkpoint());
  }
  set_learning_rate(*optimizer, scheduler->lr());
  parallel.start(model, parameters);
  if (parallel.world_size() > 1)
    log::info("Data-parallel on {} processes: batch {} per process, global batch {}", parallel.world_size(),
              config.training.batch_size, parallel.world_size() * config.training.batch_size);

  const auto train_transform = std::make_shared<const data::TrainTransform>(pipeline::train_transform_options(config));
  const auto eval_transform = std::make_shared<const data::EvalTransform>(pipeline::eval_transform_options(config));
  auto train_options = shard_options(loader_options(config, true), parallel, true);
  // A last batch of one image would break BatchNorm in training mode; shuffling changes which
  // images fall into the dropped remainder every epoch.
  const size_t shard_size = (train_samples.size() + train_options.num_shards - 1) / train_options.num_shards;
  train_options.drop_last = shard_size > static_cast<size_t>(config.training.batch_size);
  data::DataLoader train_loader(std::move(train_samples), train_transform, train_options);
  data::DataLoader val_loader(std::move(val_samples), eval_transform,
                              shard_options(loader_options(config, false), parallel, false));
  const auto forward = [&](const torch::Tensor& images) { return model.forward(images.to(device)); };
  const double smoothing = config.training.label_smoothing;
  const int num_epochs = config.training.num_epochs;

  install_interrupt_handler();
  result.epochs_done = start_epoch;
  for (int epoch = start_epoch + 1; epoch <= num_epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    // Dropout draws from LibTorch's global generator; reseeding per epoch makes a resumed run
    // draw exactly what the uninterrupted run would have.
    torch::manual_seed(static_cast<uint64_t>(config.training.seed) * 1000003 + epoch);
    train_loader.start_epoch(epoch);
    const double lr = learning_rate(*optimizer);
    const auto totals = train_one_epoch(model, *optimizer, train_loader, parallel, device, smoothing,
                                        fmt::format("Epoch {}/{}", epoch, num_epochs), epoch);
    if (totals.interrupted && !leader) {
      result.outcome = TrainOutcome::interrupted;
      break;
    }
    if (totals.interrupted) {
      // The weights are mid-epoch; epoch still names the last completed one, so --resume repeats
      // the interrupted epoch from these weights.
      auto last = make_checkpoint(model, config, class_names, epoch - 1);
      store_training_state(last, state, config.training.seed);
      store_resumes(last, status.resumed_after);
      last.extras["interrupted_during_epoch"] = static_cast<int64_t>(epoch);
      checkpoint::save_checkpoint(last, folder.last_checkpoint());
      log::warning("Interrupted during epoch {}; saved {} (continue with --resume)", epoch, folder.last_checkpoint());
      result.outcome = TrainOutcome::interrupted;
      break;
    }
    model.eval();
    parallel.share_leader_buffers(model);
    const auto val = pipeline::predict(forward, val_loader, smoothing);
    const double val_images = static_cast<double>(val.labels.size());
    // Sums over the processes, so that every rank takes the same best-epoch, scheduler and early
    // stopping decisions: train loss, correct, images; validation loss, correct, images.
    std::vector<double> sums{totals.loss_sum, static_cast<double>(totals.correct), static_cast<double>(totals.images),
                             val.mean_loss * val_images, std::round(val.accuracy() * val_images), val_images};
    parallel.sum(sums, "combining the epoch's metrics");
    EpochMetrics row{epoch,
                     sums[0] / std::max(1.0, sums[2]),
                     sums[1] / std::max(1.0, sums[2]),
                     // A single process keeps predict's own mean, bit for bit.
                     parallel.world_size() > 1 ? sums[3] / std::max(1.0, sums[5]) : val.mean_loss,
                     sums[4] / std::max(1.0, sums[5]),
                     lr,
                     0.0,
                     sums[2] / std::max(1e-9, totals.seconds)};
    const double monitored = monitor == "val_loss" ? row.val_loss : row.val_accuracy;
    set_learning_rate(*optimizer, scheduler->step(epoch, monitored));
    const bool improved = best_accuracy.update(row.val_accuracy);
    early_stopping.update(monitored);
    row.epoch_seconds = seconds_since(epoch_start);
    result.epochs_done = epoch;
    const int patience = config.training.early_stopping_patience;
    const bool stop_early = patience > 0 && early_stopping.epochs_without_improvement() >= patience;
    if (!leader) {
      if (stop_early) {
        result.outcome = TrainOutcome::early_stopped;
        break;
      }
      continue;
    }
    history.push_back(row);

    auto last = make_checkpoint(model, config, class_names, epoch);
    store_training_state(last, state, config.training.seed);
    store_resumes(last, status.resumed_after);
    checkpoint::save_checkpoint(last, folder.last_checkpoint());
    if (improved) {
      auto best = make_checkpoint(model, config, class_names, epoch);
      best.extras["val_accuracy"] = row.val_accuracy;
      checkpoint::save_checkpoint(best, folder.best_checkpoint());
    }
    write_metrics(history, folder.metrics_csv(), folder.metrics_json());
    log::info("Epoch {}/{} | train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f}{} | lr {:.3g} | {:.1f}s, {:.1f} img/s",
              epoch, num_epochs, row.train_loss, row.train_accuracy, row.val_loss, row.val_accuracy,
              improved ? " (best)" : "", lr, row.epoch_seconds, row.images_per_second);
    if (parallel.world_size() > 1)
      log::info("Gradient all-reduce: {:.1f} ms per step not hidden by the backward pass, {:.1f}% of the training time",
                1000.0 * totals.seconds_waiting_for_gradients / std::max<size_t>(1, totals.steps),
                100.0 * totals.seconds_waiting_for_gradients / std::max(1e-9, totals.seconds));
    report_progress();
    if (stop_early) {
      log::info("Early stopping: {} has not improved for {} epochs", monitor, patience);
      result.outcome = TrainOutcome::early_stopped;
      break;
    }
  }
  result.best_val_accuracy = best_accuracy.best();
  if (const auto skipped = train_loader.skipped_files().size())
    log::warning("{} undecodable training images were left out (named in the warnings above)", skipped);
  status.outcome = result.outcome;
  status.finished = true;
  // The test evaluation needs every prediction for the report; rank 0 makes them alone.
  if (!leader) return result;
  if (result.outcome == TrainOutcome::interrupted) {
    report_progress();
    return result;
  }

  if (test_samples.empty() || !std::filesystem::exists(folder.best_checkpoint())) {
    log::info("No test images; skipping the test evaluation");
  } else {
    const auto best = checkpoint::load_checkpoint(folder.best_checkpoint());
    checkpoint::load_state_dict(model, best.model_state_dict, folder.best_checkpoint());
    model.eval();
    TestEvaluation test{folder.best_checkpoint(), best.epoch, test_samples, {}};
    data::DataLoader test_loader(std::move(test_samples), eval_transform, loader_options(config, false));
    test.predictions = pipeline::predict(forward, test_loader);
    result.test_accuracy = test.predictions.accuracy();
    log::info("Test accuracy of best.pt (epoch {}): {:.4f} on {} images", best.epoch, *result.test_accuracy,
              test_loader.num_samples());
    status.test = std::move(test);
  }
  report_progress();
  log::success("✓ Training finished: best val accuracy {:.4f}; weights in {}", result.best_val_accuracy,
               folder.weights_dir());
  return result;
}

}  // namespace mltk::train
