#include "mltk/common/logging.h"
#include "mltk/common/quiet_logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <filesystem>

namespace mltk::log {
namespace {

class LevelNameFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view name = "INFO";
    switch (message.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: name = "DEBUG"; break;
      case spdlog::level::warn: name = "WARNING"; break;
      case spdlog::level::err: name = "ERROR"; break;
      case spdlog::level::critical: name = "SUCCESS"; break;
      default: break;
    }
    dest.append(name.data(), name.data() + name.size());
    for (size_t i = name.size(); i < 8; ++i) dest.push_back(' ');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelNameFlag>(); }
};

// Set by keep_only_warnings; spdlog patterns treat '%' specially, so it is escaped.
std::string line_prefix;

std::unique_ptr<spdlog::formatter> make_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LevelNameFlag>('*').set_pattern("%Y-%m-%d %H:%M:%S | %* | " + line_prefix + "%v");
  return formatter;
}

}  // namespace

void init(bool verbose) {
  auto console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  console->set_formatter(make_formatter());
  console->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  auto logger = std::make_shared<spdlog::logger>("mltk", console);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

void add_file(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  file->set_formatter(make_formatter());
  file->set_level(spdlog::level::debug);
  spdlog::default_logger()->sinks().push_back(file);
}

void keep_only_warnings(const std::string& prefix) {
  line_prefix.clear();
  for (char c : prefix) {
    if (c == '%') line_prefix += '%';
    line_prefix += c;
  }
  auto logger = spdlog::default_logger();
  logger->set_level(spdlog::level::warn);
  for (auto& sink : logger->sinks()) sink->set_formatter(make_formatter());
}

}  // namespace mltk::log
