// The checks of values that are not free text, and how messages quote values
// (convene/validate.h).
#include "convene/validate.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace convene {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

// The payload of issue 7: a value that, written into a feed as it is, ends the event and
// forges another one in every subscriber's calendar.
const std::string kForge =
    "\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged@evil\r\nSUMMARY:Forged\r\nDTSTART:20261111T150000Z\r\n";

TEST(UrlProblem, AcceptsHttpAndHttpsLinks) {
  for (const char* url : {"https://meet.example.org/cop", "http://example.org", "HTTPS://Example.org/a?b=c&d=%20#x",
                          "https://zoom.us/j/123456789?pwd=abcDEF.1", "https://[2001:db8::1]:8443/x",
                          "https://example.org/a_(b)~c!$'*+,;=:@"}) {
    EXPECT_EQ(url_problem(url), std::nullopt) << url;
  }
}

// Issue 7: `convene edit power-hour 2026-11-11 --join-url $'https://x\r\nEND:VEVENT...'`
// reached members' feeds, and python3-icalendar read the forged event as real: libical
// writes URI values as they are. A link with a line break is refused where it enters.
TEST(UrlProblem, RefusesLineBreaksThatWouldForgeEvents) {
  EXPECT_THAT(url_problem("https://x" + kForge), Optional(HasSubstr("a line break (CR)")));
  EXPECT_THAT(url_problem("https://x\nEND:VEVENT"), Optional(HasSubstr("a line break (LF)")));
  EXPECT_THAT(url_problem("https://x/\x01"), Optional(HasSubstr("control character")));
  EXPECT_THAT(url_problem(std::string("https://x/\0y", 12)), Optional(HasSubstr("control character")));
}

TEST(UrlProblem, RefusesWhitespaceAndNonAsciiWithHowToWriteIt) {
  EXPECT_THAT(url_problem("https://x.org/a b"), Optional(HasSubstr("a space")));
  EXPECT_THAT(url_problem("https://x.org/\ta"), Optional(HasSubstr("a tab")));
  EXPECT_THAT(url_problem("https://x.org/café"), Optional(HasSubstr("%C3%A9")));
  EXPECT_THAT(url_problem("https://x.org/\xff"), Optional(HasSubstr("not UTF-8")));
  EXPECT_THAT(url_problem("https://x.org/<script>"), Optional(HasSubstr("\"<\"")));
  EXPECT_THAT(url_problem("https://x.org/a%zz"), Optional(HasSubstr("two hex digits")));
}

TEST(UrlProblem, RefusesOtherSchemesRelativeLinksAndCredentials) {
  for (const char* url : {"javascript:alert(1)", "ftp://example.org/x", "file:///etc/passwd", "mailto:a@b.org",
                          "data:text/html,x", "example.org/cop", "//example.org/x", "/feeds/all.ics"}) {
    EXPECT_THAT(url_problem(url), Optional(HasSubstr("not an absolute http:// or https:// URL"))) << url;
  }
  EXPECT_THAT(url_problem("https://trusted.example@evil.example/"), Optional(HasSubstr("user name or password")));
  EXPECT_THAT(url_problem("https://user:secret@example.org/"), Optional(HasSubstr("user name or password")));
  EXPECT_THAT(url_problem("https://"), Optional(HasSubstr("libcurl")));
  EXPECT_THAT(url_problem(""), Optional(HasSubstr("empty link")));
}

TEST(UrlProblem, RefusesOverlongLinksQuotingOnlyTheirStart) {
  const std::string url = "https://example.org/" + std::string(kMaxUrlLength, 'a');
  const auto why = url_problem(url);
  ASSERT_TRUE(why.has_value());
  EXPECT_THAT(*why, HasSubstr("longer than 2048 bytes"));
  EXPECT_LT(why->size(), 200u);
}

TEST(EmailProblem, AcceptsAddrSpecs) {
  for (const char* email : {"rosa@example.org", "Rosa.Diaz+cop@mail.dc.gov", "o'neil@x-y.example.com",
                            "a!#$%&'*/=?^_`{|}~-@example.org"}) {
    EXPECT_EQ(email_problem(email), std::nullopt) << email;
  }
}

// Issue 7: an organizer email holding CR/LF was written into ORGANIZER as it is (libical
// writes CAL-ADDRESS values raw), forging events like the join link.
TEST(EmailProblem, RefusesLineBreaksSecondAddressesAndDisplayNames) {
  EXPECT_THAT(email_problem("rosa@example.org" + kForge), Optional(HasSubstr("line break")));
  EXPECT_THAT(email_problem("rosa@example.org,ben@example.org"), Optional(HasSubstr("give one address")));
  EXPECT_THAT(email_problem("rosa@example.org;ben@example.org"), Optional(HasSubstr("give one address")));
  EXPECT_THAT(email_problem("Rosa <rosa@example.org>"), Optional(HasSubstr("angle brackets")));
  EXPECT_THAT(email_problem("rosa @example.org"), Optional(HasSubstr("a space")));
  EXPECT_THAT(email_problem("mailto:rosa@example.org"), Optional(HasSubstr("mailto:")));
  EXPECT_THAT(email_problem("\"rosa\"@example.org"), Optional(HasSubstr("\\\"")));
}

TEST(EmailProblem, RefusesMalformedAddresses) {
  EXPECT_THAT(email_problem("rosa"), Optional(HasSubstr("no \"@\"")));
  EXPECT_THAT(email_problem("rosa@"), Optional(HasSubstr("nothing after")));
  EXPECT_THAT(email_problem("@example.org"), Optional(HasSubstr("nothing before")));
  EXPECT_THAT(email_problem("a@b@example.org"), Optional(HasSubstr("two \"@\"")));
  EXPECT_THAT(email_problem("rosa@localhost"), Optional(HasSubstr("without a dot")));
  EXPECT_THAT(email_problem("rosa@example..org"), Optional(HasSubstr("empty label")));
  EXPECT_THAT(email_problem("rosa@-example.org"), Optional(HasSubstr("starts or ends with \"-\"")));
  EXPECT_THAT(email_problem(".rosa@example.org"), Optional(HasSubstr("a dot may not start")));
  EXPECT_THAT(email_problem("ro..sa@example.org"), Optional(HasSubstr("a dot may not start")));
  EXPECT_THAT(email_problem("josé@example.org"), Optional(HasSubstr("\"é\"")));
  EXPECT_THAT(email_problem(std::string(65, 'a') + "@example.org"), Optional(HasSubstr("longer than 64")));
  EXPECT_THAT(email_problem("a@" + std::string(260, 'b') + ".org"), Optional(HasSubstr("longer than 254")));
  EXPECT_THAT(email_problem(""), Optional(HasSubstr("empty")));
}

TEST(TextProblem, AcceptsTextWithLineBreaksAndTabs) {
  EXPECT_EQ(text_problem("Asthma action plans\r\nEND:VEVENT\r\nBEGIN:VEVENT"), std::nullopt);
  EXPECT_EQ(text_problem("Café · 東京 \t ✓"), std::nullopt);
  EXPECT_EQ(text_problem(""), std::nullopt);
}

TEST(TextProblem, RefusesControlCharactersInvalidUtf8AndOverlongText) {
  EXPECT_THAT(text_problem(std::string("a\0b", 3)), Optional(HasSubstr("control character")));
  EXPECT_THAT(text_problem("a\x1b[31mred"), Optional(HasSubstr("control character")));
  EXPECT_THAT(text_problem("a\x7f"), Optional(HasSubstr("control character")));
  EXPECT_THAT(text_problem("a\xc2\x85"), Optional(HasSubstr("control character")));  // U+0085 NEL
  EXPECT_THAT(text_problem("a\xff"), Optional(HasSubstr("not UTF-8")));
  EXPECT_THAT(text_problem("\xc0\xaf"), Optional(HasSubstr("not UTF-8")));  // overlong "/"
  EXPECT_THAT(text_problem("\xed\xa0\x80"), Optional(HasSubstr("not UTF-8")));  // a surrogate
  EXPECT_THAT(text_problem(std::string(10001, 'x')), Optional(HasSubstr("at most 10000")));
}

TEST(CategoryProblem, RefusesCommasAndLineBreaks) {
  EXPECT_EQ(category_problem("Mentoring"), std::nullopt);
  EXPECT_THAT(category_problem("Mentoring,Nurses"), Optional(HasSubstr("a comma")));
  EXPECT_THAT(category_problem("Mentoring\r\nEND:VEVENT"), Optional(HasSubstr("a line break")));
}

// Issue 7: an 8 MB RRULE gave a 16 MB error, and invalid UTF-8 and control bytes from the
// input went straight to stderr. quote_value() is how every message shows a value.
TEST(QuoteValue, ShowsAtMostEightyCharactersThenAnEllipsis) {
  const std::string rule(8 << 20, 'X');
  const std::string quoted = quote_value(rule);
  EXPECT_EQ(quoted, "\"" + std::string(80, 'X') + "\"…");
  EXPECT_EQ(quote_value(std::string(80, 'y')), "\"" + std::string(80, 'y') + "\"");
  // Characters, not bytes: 81 "é" are cut after 80 of them, never inside one.
  std::string accents;
  for (int i = 0; i < 81; ++i) accents += "é";
  EXPECT_EQ(quote_value(accents), "\"" + accents.substr(0, 160) + "\"…");
}

TEST(QuoteValue, EscapesControlBytesInvalidUtf8AndBidiControls) {
  EXPECT_EQ(quote_value("a\r\nb\tc"), "\"a\\r\\nb\\tc\"");
  EXPECT_EQ(quote_value("\x1b[2J"), "\"\\u001b[2J\"");
  EXPECT_EQ(quote_value("x\xff\xfey"), "\"x\\xFF\\xFEy\"");
  EXPECT_EQ(quote_value("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
  EXPECT_EQ(quote_value("\xe2\x80\xae" "evil"), "\"\\u202eevil\"");  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(quote_value(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(quote_value("Café"), "\"Café\"");
}

TEST(Printable, EscapesWithoutCuttingOrQuoting) {
  EXPECT_EQ(printable("/tmp/a\nb.json"), "/tmp/a\\nb.json");
  EXPECT_EQ(printable(std::string(200, 'p')), std::string(200, 'p'));
}

TEST(DecodeUtf8, ReadsWellFormedSequencesOnly) {
  EXPECT_EQ(decode_utf8("A")->value, U'A');
  EXPECT_EQ(decode_utf8("é")->length, 2u);
  EXPECT_EQ(decode_utf8("\xf0\x9f\x98\x80")->value, U'\U0001F600');
  EXPECT_FALSE(decode_utf8("\x80").has_value());          // a continuation byte alone
  EXPECT_FALSE(decode_utf8("\xe2\x82").has_value());      // cut short
  EXPECT_FALSE(decode_utf8("\xf4\x90\x80\x80").has_value());  // beyond U+10FFFF
  EXPECT_FALSE(decode_utf8("").has_value());
}

}  // namespace
}  // namespace convene
