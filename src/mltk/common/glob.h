#pragma once
// Shell-style patterns of the command-line tools (--pattern, --runs), expanded by glob(3).
#include <string>
#include <vector>

namespace mltk {

// The paths `pattern` matches, sorted as glob(3) returns them; empty when nothing matches. Throws
// naming `flag` and the pattern when glob itself fails.
std::vector<std::string> expand_glob(const std::string& pattern, const std::string& flag);

}  // namespace mltk
