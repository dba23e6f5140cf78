#pragma once
// Console and file logging in the format `YYYY-MM-DD HH:MM:SS | LEVEL    | message`, with the
// levels DEBUG, INFO, SUCCESS, WARNING and ERROR.
#include <spdlog/spdlog.h>

#include <string>

namespace mltk::log {

// Installs the default logger (stderr). `verbose` enables DEBUG lines. Safe to call again.
void init(bool verbose);
// Also writes every line (DEBUG included) to `path`, creating parent folders; throws when it cannot.
void add_file(const std::string& path);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) { spdlog::debug(format, std::forward<Args>(args)...); }
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) { spdlog::info(format, std::forward<Args>(args)...); }
template <typename... Args>
void warning(fmt::format_string<Args...> format, Args&&... args) { spdlog::warn(format, std::forward<Args>(args)...); }
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) { spdlog::error(format, std::forward<Args>(args)...); }
// spdlog's levels are fixed; the tools never log at `critical`, so it carries SUCCESS, which also
// keeps success lines visible at every verbosity.
template <typename... Args>
void success(fmt::format_string<Args...> format, Args&&... args) { spdlog::critical(format, std::forward<Args>(args)...); }

}  // namespace mltk::log
