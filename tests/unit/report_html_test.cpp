// The page building blocks against published references: base64 against RFC 4648's test vectors,
// and the embedded JSON read back by a JSON parser.
#include "mltk/report/html.h"

#include <gtest/gtest.h>

namespace {

using namespace mltk::report;

TEST(ReportHtml, Base64MatchesTheRfc4648TestVectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(ReportHtml, EmbeddedJsonCannotCloseItsScriptElementAndParsesBack) {
  const nlohmann::json data = {{"class", "</script><script>alert(1)</script>"}, {"values", {1.5, 2}}};
  const std::string text = json_for_script(data);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(text), data);
}

TEST(ReportHtml, EscapesMarkupInText) {
  EXPECT_EQ(escape_html("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

}  // namespace
