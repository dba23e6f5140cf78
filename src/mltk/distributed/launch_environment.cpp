#include "mltk/distributed/launch_environment.h"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace mltk::distributed {

namespace {

const char* required(const EnvironmentLookup& lookup, const char* name) {
  const char* value = lookup(name);
  if (!value || !*value)
    throw std::runtime_error(fmt::format("{} is not set, but WORLD_SIZE is above 1: start data-parallel training "
                                         "with torchrun, which sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, "
                                         "MASTER_ADDR and MASTER_PORT",
                                         name));
  return value;
}

int64_t integer_of(const char* name, std::string_view text, int64_t low, int64_t high) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < low || value > high)
    throw std::runtime_error(
        fmt::format("{} is '{}'; it must be a whole number from {} to {}", name, text, low, high));
  return value;
}

}  // namespace

std::optional<LaunchEnvironment> read_launch_environment(const EnvironmentLookup& lookup) {
  const char* world_size_text = lookup("WORLD_SIZE");
  if (!world_size_text || !*world_size_text) return std::nullopt;
  constexpr int64_t kMaxProcesses = 1 << 20;
  LaunchEnvironment environment;
  environment.world_size = static_cast<int>(integer_of("WORLD_SIZE", world_size_text, 1, kMaxProcesses));
  if (environment.world_size == 1) return std::nullopt;
  environment.rank = static_cast<int>(
      integer_of("RANK", required(lookup, "RANK"), 0, environment.world_size - 1));
  environment.local_world_size = static_cast<int>(integer_of(
      "LOCAL_WORLD_SIZE", required(lookup, "LOCAL_WORLD_SIZE"), 1, environment.world_size));
  environment.local_rank = static_cast<int>(integer_of(
      "LOCAL_RANK", required(lookup, "LOCAL_RANK"), 0, environment.local_world_size - 1));
  environment.master_addr = required(lookup, "MASTER_ADDR");
  environment.master_port = static_cast<uint16_t>(integer_of("MASTER_PORT", required(lookup, "MASTER_PORT"), 1, 65535));
  const char* agent_store = lookup("TORCHELASTIC_USE_AGENT_STORE");
  environment.launcher_hosts_store = agent_store && std::string_view(agent_store) == "True";
  if (const char* restarts = lookup("TORCHELASTIC_RESTART_COUNT"); restarts && *restarts)
    environment.restart_count = static_cast<int>(integer_of("TORCHELASTIC_RESTART_COUNT", restarts, 0, kMaxProcesses));
  return environment;
}

}  // namespace mltk::distributed
