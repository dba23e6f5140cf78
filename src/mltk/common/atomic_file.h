#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace mltk {

// Writes `contents` to `path` so that readers see either the old file or the complete new one:
// the bytes go to a temporary file in the same directory, are flushed to disk, then renamed over
// `path`. The result gets the permissions any new file gets (0666 less the umask). Throws
// std::runtime_error naming the path and the system's reason (a missing or read-only directory, a
// full disk, ...); the previous file is then untouched and the temporary file removed.
void write_file_atomically(const std::string& path, std::string_view contents);

// The same for contents produced by `write`, which is given the temporary file's descriptor and
// returns 0 or the errno value of the call that failed.
void write_file_atomically(const std::string& path, const std::function<int(int fd)>& write);

// The temporary file of a write is hidden (".<name>.<pid>.<random>.tmp"), so that listings and
// patterns such as *.pt never pick it; one left by a killed process is removed by the next write
// to the same path once that process is gone.
bool is_atomic_write_leftover(const std::string& file_name, const std::string& target_name);

}  // namespace mltk
