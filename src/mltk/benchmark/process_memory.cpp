#include "mltk/benchmark/process_memory.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mltk::benchmark {
namespace {

std::string proc_file(pid_t pid, const char* name) { return "/proc/" + std::to_string(pid) + "/" + name; }

// A "Name:   1234 kB" line of /proc/<pid>/status, in bytes.
int64_t status_field_bytes(pid_t pid, const std::string& field) {
  const std::string path = proc_file(pid, "status");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("Cannot read " + path + " to measure memory: is the process still running?");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream values(line.substr(field.size() + 1));
    int64_t kilobytes = -1;
    std::string unit;
    if (values >> kilobytes >> unit && kilobytes >= 0 && unit == "kB") return kilobytes * 1024;
    throw std::runtime_error(path + ": cannot read the value of " + field + " from '" + line + "'");
  }
  throw std::runtime_error(path + " has no " + field + " line; resident memory cannot be measured here");
}

}  // namespace

int64_t resident_bytes(pid_t pid) { return status_field_bytes(pid, "VmRSS"); }

int64_t peak_resident_bytes(pid_t pid) { return status_field_bytes(pid, "VmHWM"); }

bool reset_peak_resident(pid_t pid) {
  std::ofstream out(proc_file(pid, "clear_refs"));
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

ResidentGrowth::ResidentGrowth() : reset_(reset_peak_resident(getpid())), baseline_(resident_bytes(getpid())) {}

std::optional<int64_t> ResidentGrowth::peak_bytes() const {
  if (!reset_) return std::nullopt;
  return std::max<int64_t>(0, peak_resident_bytes(getpid()) - baseline_);
}

}  // namespace mltk::benchmark
