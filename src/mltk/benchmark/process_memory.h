#pragma once
// Resident memory of a process as Linux reports it in /proc/<pid>/status.
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace mltk::benchmark {

// VmRSS and VmHWM (the peak of VmRSS) in bytes. Throws std::runtime_error naming the file when it
// cannot be read or lacks the field (the process is gone, or /proc is not Linux's).
int64_t resident_bytes(pid_t pid);
int64_t peak_resident_bytes(pid_t pid);

// Lowers VmHWM to the current VmRSS (writing 5 to /proc/<pid>/clear_refs), so that a later peak
// covers only what happened since. False when the kernel refuses.
bool reset_peak_resident(pid_t pid);

// How far this process's resident memory rose above its level at construction: the peak since
// then minus that level. Memory the process had touched before and freed can be reused without
// showing up, so the figure is a lower bound of what the work in between needs.
class ResidentGrowth {
 public:
  ResidentGrowth();
  // Absent when the peak could not be reset, since the peak would then include earlier work.
  std::optional<int64_t> peak_bytes() const;

 private:
  bool reset_ = false;
  int64_t baseline_ = 0;
};

}  // namespace mltk::benchmark
