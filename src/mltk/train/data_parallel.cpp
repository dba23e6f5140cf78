#include "mltk/train/data_parallel.h"

#include "mltk/common/quiet_logging.h"
#include "mltk/distributed/launch_environment.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>

namespace mltk::train {

std::shared_ptr<distributed::Collectives> join_data_parallel_job(std::chrono::milliseconds timeout) {
  const auto environment = distributed::read_launch_environment([](const char* name) { return std::getenv(name); });
  if (!environment) return nullptr;
  if (environment->rank != 0) log::keep_only_warnings(fmt::format("rank {} | ", environment->rank));
  return std::make_shared<distributed::Collectives>(*environment, timeout);
}

DataParallel::DataParallel(std::shared_ptr<distributed::Collectives> collectives)
    : collectives_(std::move(collectives)) {}

void DataParallel::start(models::ClassifierImpl& model, const std::vector<torch::Tensor>& trainable) {
  if (!collectives_) return;
  std::vector<torch::Tensor> state = model.parameters();
  for (const auto& buffer : model.buffers()) state.push_back(buffer);
  collectives_->broadcast_from_rank0(state);
  averager_.emplace(*collectives_, trainable);
}

void DataParallel::share_leader_buffers(models::ClassifierImpl& model) {
  if (collectives_ && !model.buffers().empty()) collectives_->broadcast_from_rank0(model.buffers());
}

void DataParallel::average_gradients() {
  if (averager_) averager_->finish_step();
}

bool DataParallel::on_any_process(bool local, const std::string& purpose) {
  if (!collectives_) return local;
  const auto flag = torch::tensor({local ? 1 : 0}, torch::kInt32);
  collectives_->max(flag, purpose);
  return flag.item<int>() != 0;
}

void DataParallel::sum(std::vector<double>& values, const std::string& purpose) {
  if (!collectives_ || values.empty()) return;
  auto totals = torch::tensor(values, torch::kFloat64);
  collectives_->sum(totals, purpose);
  for (size_t i = 0; i < values.size(); ++i) values[i] = totals[static_cast<int64_t>(i)].item<double>();
}

}  // namespace mltk::train
