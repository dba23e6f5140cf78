#include "mltk/distributed/collectives.h"

// ProcessGroupGloo.hpp declares its class only with USE_C10D_GLOO. LibTorch's CMake package defines
// it for its users (Caffe2Targets.cmake); a build that does not still gets the class here.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace mltk::distributed {

namespace {

using namespace std::chrono_literals;

// Every process counts up a heartbeat key this often; a rank whose count stands still for
// kStaleBeats periods has died or is stopped.
constexpr auto kHeartbeatPeriod = 500ms;
constexpr int kStaleBeats = 4;

std::string heartbeat_key(int rank) { return fmt::format("mltk/heartbeat/{}", rank); }
std::string operations_key(int rank) { return fmt::format("mltk/operations/{}", rank); }

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// As PyTorch chooses: GLOO_SOCKET_IFNAME names the network interface; otherwise the address this
// machine's hostname resolves to. A job whose master is on loopback stays on loopback, where the
// hostname may resolve to an address other machines' processes cannot reach anyway.
std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchEnvironment& environment) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (is_loopback(environment.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// The first line of a c10d or Gloo message, without its closing full stop(s).
std::string first_line(const std::exception& error) {
  std::string message = error.what();
  if (const auto end = message.find('\n'); end != std::string::npos) message.resize(end);
  while (!message.empty() && message.back() == '.') message.pop_back();
  return message;
}

}  // namespace

struct Collectives::Impl {
  LaunchEnvironment environment;
  std::chrono::milliseconds timeout{};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::atomic<int64_t> operations_started{0};

  std::mutex heartbeat_mutex;
  std::condition_variable heartbeat_stop;
  bool stopping = false;
  std::thread heartbeat;

  void join_store() {
    const std::string address = fmt::format("{}:{}", environment.master_addr, environment.master_port);
    try {
      c10d::TCPStoreOptions options;
      options.port = environment.master_port;
      options.timeout = timeout;
      if (environment.launcher_hosts_store) {
        auto launcher_store = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, options);
        store = c10::make_intrusive<c10d::PrefixStore>(fmt::format("/worker/attempt_{}", environment.restart_count),
                                                       launcher_store);
      } else {
        options.isServer = environment.rank == 0;
        options.numWorkers = static_cast<size_t>(environment.world_size);
        store = c10::make_intrusive<c10d::TCPStore>(environment.master_addr, options);
      }
    } catch (const std::exception& error) {
      throw std::runtime_error(fmt::format(
          "could not join the job's store at {} (MASTER_ADDR:MASTER_PORT) within {} s: {}. Check that the "
          "address is reachable from this machine, that the port is free on rank 0's machine, and that every "
          "launcher was given the same --master_addr and --master_port",
          address, timeout.count() / 1000, first_line(error)));
    }
  }

  void connect_group() {
    try {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(gloo_device(environment));
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, environment.rank, environment.world_size, options);
    } catch (const std::exception& error) {
      throw std::runtime_error(fmt::format(
          "could not connect to the other {} processes within {} s: {}. Every process must be started "
          "(WORLD_SIZE is {}) and the machines must reach each other; set GLOO_SOCKET_IFNAME to the network "
          "interface to use",
          environment.world_size - 1, timeout.count() / 1000, first_line(error),
          environment.world_size));
    }
  }

  void beat() {
    store->add(heartbeat_key(environment.rank), 1);
    const std::string operations = std::to_string(operations_started.load());
    store->set(operations_key(environment.rank), std::vector<uint8_t>(operations.begin(), operations.end()));
  }

  void start_heartbeat() {
    beat();
    heartbeat = std::thread([this] {
      std::unique_lock lock(heartbeat_mutex);
      while (!heartbeat_stop.wait_for(lock, kHeartbeatPeriod, [this] { return stopping; })) {
        try {
          beat();
        } catch (const std::exception&) {
          return;  // the store is gone: the job is ending, and any operation in flight reports why
        }
      }
    });
  }

  void stop_heartbeat() {
    {
      std::lock_guard lock(heartbeat_mutex);
      stopping = true;
    }
    heartbeat_stop.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  }

  // Reads every rank's heartbeat count and number of operations started, twice kStaleBeats periods
  // apart, to tell which peers are gone and which are alive but behind.
  std::string explain_failure(const std::string& purpose, const std::exception& error) {
    const std::string cause = first_line(error);
    std::map<int, int64_t> beats_before, beats_after, operations;
    try {
      for (int rank = 0; rank < environment.world_size; ++rank)
        if (rank != environment.rank) beats_before[rank] = store->add(heartbeat_key(rank), 0);
      std::this_thread::sleep_for(kHeartbeatPeriod * kStaleBeats);
      for (int rank = 0; rank < environment.world_size; ++rank) {
        if (rank == environment.rank) continue;
        beats_after[rank] = store->add(heartbeat_key(rank), 0);
        operations[rank] = store->add(operations_key(rank), 0);
      }
    } catch (const std::exception&) {
      const std::string host = environment.launcher_hosts_store ? "the launcher of node 0, which serves the job's store,"
                                                                : "rank 0, which serves the job's store,";
      return fmt::format("{} failed ({}); {} is gone: see its log for why it stopped", purpose, cause, host);
    }
    std::vector<int> stopped, behind;
    const int64_t mine = operations_started.load();
    for (const auto& [rank, before] : beats_before) {
      if (beats_after[rank] == before) stopped.push_back(rank);
      else if (operations[rank] < mine) behind.push_back(rank);
    }
    if (!stopped.empty())
      return fmt::format("{} failed ({}): rank {} stopped responding (it exited, crashed or was stopped); see its "
                         "log for why",
                         purpose, cause, fmt::join(stopped, ", rank "));
    if (!behind.empty())
      return fmt::format("{} failed ({}): rank {} is alive but did not reach this operation within {} s; it may be "
                         "stuck, or the timeout (ml-train --dist_timeout) is too short for it",
                         purpose, cause, fmt::join(behind, ", rank "), timeout.count() / 1000);
    return fmt::format("{} failed ({}); every other rank is still responding", purpose, cause);
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& purpose) {
    try {
      work->wait();
    } catch (const std::exception& error) {
      throw std::runtime_error(explain_failure(purpose, error));
    }
  }

  c10::intrusive_ptr<c10d::Work> start_reduce(const torch::Tensor& tensor, c10d::ReduceOp operation,
                                              const std::string& purpose) {
    ++operations_started;
    std::vector<at::Tensor> tensors{tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = operation;
    try {
      return group->allreduce(tensors, options);
    } catch (const std::exception& error) {
      throw std::runtime_error(explain_failure(purpose, error));
    }
  }
};

Collectives::Collectives(const LaunchEnvironment& environment, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->environment = environment;
  impl_->timeout = timeout;
  impl_->join_store();
  impl_->start_heartbeat();
  try {
    impl_->connect_group();
  } catch (...) {
    impl_->stop_heartbeat();
    throw;
  }
}

Collectives::~Collectives() { impl_->stop_heartbeat(); }

int Collectives::rank() const { return impl_->environment.rank; }
int Collectives::world_size() const { return impl_->environment.world_size; }

void Collectives::broadcast_from_rank0(const std::vector<torch::Tensor>& tensors) {
  // Gloo broadcasts one tensor per call; one flat tensor per dtype keeps the calls few.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (const auto& tensor : tensors) by_dtype[tensor.scalar_type()].push_back(tensor);
  for (auto& [dtype, group] : by_dtype) {
    std::vector<torch::Tensor> flat_parts;
    for (const auto& tensor : group) flat_parts.push_back(tensor.detach().reshape(-1));
    std::vector<at::Tensor> flat{torch::cat(flat_parts)};
    ++impl_->operations_started;
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    impl_->wait(impl_->group->broadcast(flat, options), "broadcasting rank 0's weights");
    int64_t offset = 0;
    torch::NoGradGuard no_grad;
    for (auto& tensor : group) {
      tensor.copy_(flat[0].narrow(0, offset, tensor.numel()).view_as(tensor));
      offset += tensor.numel();
    }
  }
}

void Collectives::sum(const torch::Tensor& tensor, const std::string& purpose) {
  impl_->wait(impl_->start_reduce(tensor, c10d::ReduceOp::SUM, purpose), purpose);
}

void Collectives::max(const torch::Tensor& tensor, const std::string& purpose) {
  impl_->wait(impl_->start_reduce(tensor, c10d::ReduceOp::MAX, purpose), purpose);
}

std::function<void()> Collectives::start_sum(const torch::Tensor& tensor, const std::string& purpose) {
  auto work = impl_->start_reduce(tensor, c10d::ReduceOp::SUM, purpose);
  return [impl = impl_.get(), work, purpose] { impl->wait(work, purpose); };
}

}  // namespace mltk::distributed
