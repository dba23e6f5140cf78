#include "mltk/common/glob.h"

#include <glob.h>

#include <stdexcept>

namespace mltk {

std::vector<std::string> expand_glob(const std::string& pattern, const std::string& flag) {
  glob_t matches{};
  const int result = glob(pattern.c_str(), 0, nullptr, &matches);
  std::vector<std::string> paths;
  if (result == 0) paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  globfree(&matches);
  if (result != 0 && result != GLOB_NOMATCH)
    throw std::runtime_error("Cannot expand " + flag + " \"" + pattern + "\" (glob error " + std::to_string(result) + ")");
  return paths;
}

}  // namespace mltk
