#pragma once
// Building blocks of the HTML pages: escaping text and embedding data safely.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace mltk::report {

// Text for element content or a quoted attribute value.
std::string escape_html(std::string_view text);

// `data` as JSON that can sit inside a <script> element: every '<' is written as \u003c, so no
// string in it (a class name, a path) can close the element.
std::string json_for_script(const nlohmann::json& data);

// One of the boxes of a page's key figures (inside <div class="facts">): a small label over a large
// value, the value's element carrying `id` when one is given, for tests.
std::string fact_box(const std::string& label, const std::string& value, const std::string& id = "");

// Standard base64 (RFC 4648, with padding), for images embedded as data: URLs.
std::string base64(std::string_view bytes);

}  // namespace mltk::report
