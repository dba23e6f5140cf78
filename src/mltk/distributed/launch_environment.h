#pragma once
// Where this process stands in a data-parallel job, as torchrun (torch.distributed.run) describes it
// in the environment of every process it starts.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace mltk::distributed {

struct LaunchEnvironment {
  int rank = 0, world_size = 1;              // RANK, WORLD_SIZE: over every machine
  int local_rank = 0, local_world_size = 1;  // LOCAL_RANK, LOCAL_WORLD_SIZE: on this machine
  std::string master_addr;                   // MASTER_ADDR
  uint16_t master_port = 0;                  // MASTER_PORT
  // torchrun's static rendezvous (its default) already serves a store on MASTER_PORT from the
  // launcher of node 0 and says so with TORCHELASTIC_USE_AGENT_STORE=True; the processes then join
  // that store, under a prefix per restart, instead of rank 0 starting its own.
  bool launcher_hosts_store = false;
  int restart_count = 0;                     // TORCHELASTIC_RESTART_COUNT
};

using EnvironmentLookup = std::function<const char*(const char* name)>;

// The launch environment when WORLD_SIZE is above 1; nullopt when WORLD_SIZE is unset or 1 (a
// single process, trained as without a launcher). Throws naming the variable when one is missing
// or malformed, or when RANK is not below WORLD_SIZE.
std::optional<LaunchEnvironment> read_launch_environment(const EnvironmentLookup& lookup);

}  // namespace mltk::distributed
