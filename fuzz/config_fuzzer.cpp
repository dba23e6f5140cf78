// The YAML configuration loader (config/config.h): parsing, schema validation and resolution of
// arbitrary text. parse_config is what load_config runs on a file's contents.
#include "mltk/config/config.h"

#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const mltk::config::Config config = mltk::config::parse_config(text, "fuzz input");
    // Checkpoints and run folders store the resolved configuration as YAML.
    config.to_yaml();
  } catch (const std::exception&) {
    // A refused configuration is the expected outcome for almost every input.
  }
  return 0;
}
