// The one HTML escaper (convene/html.h), and the subscribe page that uses it.
#include "convene/html.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "convene/feed_catalog.h"

namespace convene {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HtmlText, EscapesMarkupCharacters) {
  EXPECT_EQ(html::text("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html::text("Café · Mentoring Monday"), "Café · Mentoring Monday");
}

TEST(HtmlText, ReplacesInvalidUtf8AndControlCharacters) {
  EXPECT_EQ(html::text("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(html::text(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(html::text("a\x1b" "b\x7f"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  EXPECT_EQ(html::text("line\r\nbreak\ttab"), "line\r\nbreak\ttab");
}

TEST(HtmlAttribute, CannotCloseTheQuotedValue) {
  const std::string value = html::attribute("\" onmouseover=\"alert(1)\" x='");
  EXPECT_THAT(value, Not(HasSubstr("\"")));
  EXPECT_THAT(value, Not(HasSubstr("'")));
  EXPECT_EQ(value, "&quot; onmouseover=&quot;alert(1)&quot; x=&#39;");
}

TEST(HtmlUrl, AllowsWebLinksAndRelativeReferences) {
  for (const char* url : {"https://cop.example.org/feeds/all.ics", "http://x", "webcal://cop.example.org/a.ics",
                          "mailto:rosa@example.org", "./feeds/all.ics", "/feeds/all.ics", "#top", "?a=b",
                          "feeds/a:b.ics", "HTTPS://X.ORG", ""}) {
    EXPECT_TRUE(html::is_safe_url(url)) << url;
  }
  EXPECT_EQ(html::url_attribute("https://x.org/?a=1&b=2"), "https://x.org/?a=1&amp;b=2");
}

TEST(HtmlUrl, RefusesScriptSchemesAndWhatBrowsersWouldRepairIntoThem) {
  for (const char* url : {"javascript:alert(1)", "JavaScript:alert(1)", "vbscript:x", "data:text/html,<b>",
                          "file:///etc/passwd", "java\tscript:alert(1)", " javascript:alert(1)",
                          "java\nscript:x", "https://x.org/\x01", "https://x.org/a b"}) {
    EXPECT_FALSE(html::is_safe_url(url)) << url;
    EXPECT_EQ(html::url_attribute(url), html::kUnsafeUrl) << url;
  }
}

TEST(HtmlQueryComponent, PercentEncodesAllButUnreserved) {
  EXPECT_EQ(html::query_component("webcal://h/x.ics"), "webcal%3A%2F%2Fh%2Fx.ics");
  EXPECT_EQ(html::query_component("a b&c=d~e_f.g-h"), "a%20b%26c%3Dd~e_f.g-h");
  EXPECT_EQ(html::query_component("é"), "%C3%A9");
}

// The subscribe page writes every title and description as element text, every link
// through url_attribute: a hostile series title cannot add markup or a script link.
TEST(SubscribePage, EscapesTitlesAndLinksThroughTheOneEscaper) {
  std::vector<FeedListing> feeds;
  feeds.push_back({FeedPath{}, "<img src=x onerror=alert(1)>", "\"><script>alert(2)</script>"});
  const std::string page = subscribe_page(feeds, "https://cop.example.org", "defs<x>.json");
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  // A public page names no internal path (issue 9), escaped or not.
  EXPECT_THAT(page, Not(HasSubstr("defs")));
  EXPECT_THAT(page, HasSubstr("href=\"https://outlook.live.com/calendar/0/addfromweb?url="
                              "https%3A%2F%2Fcop.example.org%2Ffeeds%2Fall.ics&amp;name=%3Cimg"));
  // A base URL that is no web link never becomes a link on the page.
  const std::string hostile = subscribe_page(feeds, "javascript:alert(3)//", "x");
  EXPECT_THAT(hostile, Not(HasSubstr("href=\"javascript:")));
  EXPECT_THAT(hostile, HasSubstr(std::string(html::kUnsafeUrl)));
}

}  // namespace
}  // namespace convene
