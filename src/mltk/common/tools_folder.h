#pragma once
// Where the tools' non-C++ parts (tools/ort, tools/deploy, tools/browser) are found at run time.
#include <filesystem>
#include <string>

namespace mltk {

// $env_var when it is set; else `source_tree_folder` (the source tree's copy, baked in at build time)
// when it still holds `marker`; else an installed tree's share/mltk/tools/<name>, the executable being
// in its bin/.
std::filesystem::path locate_tools_folder(const char* env_var, const std::string& source_tree_folder,
                                          const std::string& name, const std::string& marker);

}  // namespace mltk
