#include "mltk/common/tools_folder.h"

#include <cstdlib>

namespace mltk {

namespace fs = std::filesystem;

fs::path locate_tools_folder(const char* env_var, const std::string& source_tree_folder, const std::string& name,
                             const std::string& marker) {
  if (const char* dir = std::getenv(env_var); dir != nullptr && *dir != '\0') return dir;
  if (!source_tree_folder.empty() && fs::exists(fs::path(source_tree_folder) / marker)) return source_tree_folder;
  // An installed tree (cmake/install.cmake): bin/ml-export beside share/mltk/tools/<name>.
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "share" / "mltk" / "tools" / name;
}

}  // namespace mltk
