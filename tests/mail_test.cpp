// convene::mail's addresses, header encoder and MIME building, read back the way a mail
// client reads them: every rendered message is parsed by Python's email package
// (policy.default: RFC 2047 decoding, address parsing, defect reports) through
// tests/oracles/read_mail.py, and its calendar part by python3-icalendar.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "convene/mail.h"
#include "test_support.h"

using namespace convene;
using namespace convene::mail;
using namespace convene::testing;
using nlohmann::json;

namespace {

Instant at(int y, unsigned m, unsigned d, int hh, int mm) {
  return Instant{date::sys_days{date::year{y} / m / d}} + std::chrono::hours{hh} + std::chrono::minutes{mm};
}

// Every message as read_mail.py reads it.
json read_messages(const std::vector<std::string>& messages) {
  TempDir dir;
  std::vector<std::string> args{(source_dir() / "tests/oracles/read_mail.py").string()};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto path = dir / ("m" + std::to_string(1000 + i) + ".eml");
    write_file(path, messages[i]);
    args.push_back(path.string());
  }
  const auto r = run_python(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

json read_message(const std::string& message) { return read_messages({message})[0]; }

Message sample() {
  Message m;
  m.from = {"School Nurse CoP", "cop@example.org"};
  m.to = {{"Rosa Díaz", "rosa@example.org"}};
  m.subject = "Mentoring Monday";
  m.date = at(2027, 1, 11, 14, 30);
  m.message_id = message_id("test/1", "rosa@example.org", "example.org");
  m.text = "Hello";
  return m;
}

// A headers-only message with `value` as its Subject, read back.
json subject_read(const std::string& value) {
  Message m = sample();
  m.subject = value;
  return read_message(render(m));
}

}  // namespace

TEST(MailAddress, AcceptsPlainAddrSpecs) {
  for (const char* ok : {"rosa@example.org", "rosa.diaz+cop@schools.dc.gov", "a@b", "o'neil@x-y.example",
                         "x!#$%&'*+-/=?^_`{|}~@example.org"})
    EXPECT_EQ(address_error(ok), std::nullopt) << ok;
}

TEST(MailAddress, RefusesEachMalformedShapeWithItsReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"rosa", "has no @"},
      {"@example.org", "nothing before the @"},
      {"rosa@", "nothing after the @"},
      {"rosa..diaz@example.org", "misplaced dot"},
      {".rosa@example.org", "misplaced dot"},
      {"rosa diaz@example.org", "not allowed before the @"},
      {"rosa@exa mple.org", "not a host name"},
      {"rosa@-example.org", "not a host name"},
      {"rosa@example..org", "not a host name"},
      {"rosa@example.org\r\nBcc: evil@example.com", "not allowed before the @"},
      {"rösa@example.org", "non-ASCII character before the @"},
      {"rosa@exämple.org", "non-ASCII domain"},
      {"\"rosa\"@example.org", "not allowed before the @"},
      {"rosa@[127.0.0.1]", "not a host name"},
      {"a,b@example.org", "not allowed before the @"},
  };
  for (const auto& [address, reason] : cases) {
    const auto e = address_error(address);
    ASSERT_TRUE(e.has_value()) << address;
    EXPECT_NE(e->find(reason), std::string::npos) << address << ": " << *e;
    EXPECT_EQ(e->find('\r'), std::string::npos) << "the message quotes a control character";
  }
  EXPECT_NE(address_error(std::string(65, 'a') + "@example.org")->find("at most 64"), std::string::npos);
  EXPECT_NE(address_error("a@" + std::string(250, 'b') + ".org")->find("longer than"), std::string::npos);
}

TEST(MailAddress, ParsesNameAndAddressForms) {
  auto a = parse_address("School Nurse CoP <cop@example.org>");
  ASSERT_TRUE(a.address) << a.error;
  EXPECT_EQ(a.address->name, "School Nurse CoP");
  EXPECT_EQ(a.address->email, "cop@example.org");
  EXPECT_EQ(a.address->domain(), "example.org");
  a = parse_address("  \"Diaz, Rosa \\\"RD\\\"\" <rosa@example.org> ");
  ASSERT_TRUE(a.address) << a.error;
  EXPECT_EQ(a.address->name, "Diaz, Rosa \"RD\"");
  a = parse_address("rosa@example.org");
  ASSERT_TRUE(a.address) << a.error;
  EXPECT_EQ(a.address->name, "");
  for (const char* bad : {"Rosa <rosa@example.org", "Rosa rosa@example.org>", "Rosa <rosa@example.org> x",
                          "Ro\"sa <rosa@example.org>", "Rosa <rosa>", "Rosa\n <rosa@example.org>"}) {
    const auto r = parse_address(bad);
    EXPECT_FALSE(r.address) << bad;
    EXPECT_FALSE(r.error.empty()) << bad;
  }
}

TEST(MailHeader, AsciiTextStaysReadable) {
  EXPECT_EQ(header_field("Subject", "Mentoring Monday moved"), "Subject: Mentoring Monday moved\r\n");
}

TEST(MailHeader, RefusesInvalidFieldNames) {
  EXPECT_THROW(header_field("Sub ject", "x"), std::invalid_argument);
  EXPECT_THROW(header_field("Subject:", "x"), std::invalid_argument);
  EXPECT_THROW(header_field("", "x"), std::invalid_argument);
}

TEST(MailHeader, NonAsciiWordsDecodeToTheSameText) {
  const std::string subject = "Mentoring Monday moved: Día de los Muertos — café für Ärzte ✓ 🎉";
  const auto m = subject_read(subject);
  EXPECT_EQ(m["headers"]["subject"][0], subject);
  EXPECT_TRUE(m["defects"].empty()) << m["defects"].dump();
  EXPECT_FALSE(m["eight_bit"].get<bool>());
}

// An injected line break must never start a header of its own (the feed injection of
// issue 7, in its email form): "Hi\r\nBcc: evil@example.com" stays one Subject.
TEST(MailHeader, LineBreaksNeverReachTheMessage) {
  for (const std::string subject : {"Hi\r\nBcc: evil@example.com", "Hi\nBcc: evil@example.com",
                                    "Hi\rBcc: evil@example.com", "Hi\r\n\r\nbody", "Tab\there\x01\x7f",
                                    "C1 \xC2\x85 next line"}) {
    const auto m = subject_read(subject);
    EXPECT_EQ(m["headers"].count("bcc"), 0u) << subject;
    EXPECT_EQ(m["headers"]["subject"].size(), 1u);
    const std::string got = m["headers"]["subject"][0];
    EXPECT_EQ(got.find('\n'), std::string::npos);
    EXPECT_EQ(got.find('\r'), std::string::npos);
    EXPECT_TRUE(m["defects"].empty()) << subject << ": " << m["defects"].dump();
    EXPECT_EQ(m["parts"][0]["text"], "Hello") << "the body is intact";
  }
  EXPECT_EQ(subject_read("Hi\r\nBcc: evil@example.com")["headers"]["subject"][0], "Hi Bcc: evil@example.com");
}

TEST(MailHeader, LongTextFoldsWithinSeventyEightColumns) {
  std::string subject;
  for (int i = 0; i < 60; ++i) subject += (subject.empty() ? "" : " ") + std::string("word") + std::to_string(i);
  const std::string field = header_field("Subject", subject);
  std::size_t start = 0;
  while (start < field.size()) {
    const auto end = field.find("\r\n", start);
    EXPECT_LE(end - start, 78u) << field.substr(start, end - start);
    start = end + 2;
  }
  EXPECT_EQ(subject_read(subject)["headers"]["subject"][0], subject);
}

TEST(MailHeader, UnbreakableAndEncodedLookingWordsAreEncoded) {
  const std::string long_word(200, 'x');
  auto m = subject_read("see " + long_word + " now");
  EXPECT_EQ(m["headers"]["subject"][0], "see " + long_word + " now");
  EXPECT_LE(m["longest_line"].get<int>(), 78);
  // Text that looks like an encoded-word is shown as written, not decoded.
  m = subject_read("literal =?UTF-8?B?SGFja2Vk?= text");
  EXPECT_EQ(m["headers"]["subject"][0], "literal =?UTF-8?B?SGFja2Vk?= text");
}

TEST(MailHeader, SplitsEncodedWordsBetweenCharacters) {
  std::string subject;
  for (int i = 0; i < 80; ++i) subject += "🎉é";  // 4- and 2-byte characters, no spaces
  const std::string field = header_field("Subject", subject);
  std::size_t pos = 0;
  while ((pos = field.find("=?UTF-8?B?", pos)) != std::string::npos) {
    const auto end = field.find("?=", pos + 10);
    EXPECT_LE(end + 2 - pos, 75u);
    pos = end;
  }
  const auto m = subject_read(subject);
  EXPECT_EQ(m["headers"]["subject"][0], subject);
  EXPECT_TRUE(m["defects"].empty()) << m["defects"].dump();
}

TEST(MailHeader, InvalidUtf8BecomesReplacementCharacters) {
  const auto m = subject_read("caf\xE9 \xF0\x9F\x8E ok \xC0\xAF \xED\xA0\x80");
  EXPECT_EQ(m["headers"]["subject"][0], "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok "
                                        "\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(MailHeader, DisplayNamesInEachForm) {
  Message m = sample();
  m.to = {{"Rosa Díaz", "rosa@example.org"},
          {"Diaz, Rosa", "rdiaz@example.org"},
          {"Back\\slash \"quoted\"", "q@example.org"},
          {"", "bare@example.org"},
          {"Evil\r\nBcc: x@example.com", "e@example.org"},
          {"=?UTF-8?B?SGFja2Vk?=", "h@example.org"}};
  const auto r = read_message(render(m));
  ASSERT_EQ(r["to"].size(), 6u) << r.dump();
  EXPECT_EQ(r["to"][0]["name"], "Rosa Díaz");
  EXPECT_EQ(r["to"][1]["name"], "Diaz, Rosa");
  EXPECT_EQ(r["to"][1]["addr"], "rdiaz@example.org");
  EXPECT_EQ(r["to"][2]["name"], "Back\\slash \"quoted\"");
  EXPECT_EQ(r["to"][3]["name"], "");
  EXPECT_EQ(r["to"][4]["name"], "Evil Bcc: x@example.com");
  EXPECT_EQ(r["to"][5]["name"], "=?UTF-8?B?SGFja2Vk?=");
  EXPECT_EQ(r["headers"].count("bcc"), 0u);
  EXPECT_EQ(r["from"][0]["name"], "School Nurse CoP");
  EXPECT_TRUE(r["defects"].empty()) << r["defects"].dump();
}

TEST(MailHeader, RefusesInvalidAddresses) {
  Message m = sample();
  m.to = {{"Evil", "x@example.org>\r\nBcc: evil@example.com"}};
  EXPECT_THROW(render(m), std::invalid_argument);
  m = sample();
  m.headers = {{"List-Unsubscribe", "<https://x.example/u>\r\nBcc: e@example.com"}};
  EXPECT_THROW(render(m), std::invalid_argument);
  m = sample();
  m.headers = {{"Bcc", "e@example.com"}};
  EXPECT_THROW(render(m), std::invalid_argument);
}

TEST(MailHeader, DateIsRfc5322InUtc) {
  EXPECT_EQ(format_date(at(2027, 1, 18, 16, 0)), "Mon, 18 Jan 2027 16:00:00 +0000");
  EXPECT_EQ(format_date(at(2026, 9, 5, 9, 7) + Seconds{3}), "Sat, 05 Sep 2026 09:07:03 +0000");
}

TEST(MailHeader, MessageIdIsAFunctionOfKeyAndRecipient) {
  const auto a = message_id("invite/mentoring-monday/3", "rosa@example.org", "example.org");
  EXPECT_EQ(a, message_id("invite/mentoring-monday/3", "rosa@example.org", "example.org"));
  EXPECT_NE(a, message_id("invite/mentoring-monday/3", "ben@example.org", "example.org"));
  EXPECT_NE(a, message_id("invite/mentoring-monday/4", "rosa@example.org", "example.org"));
  EXPECT_NE(message_id("ab", "c", "example.org"), message_id("a", "bc", "example.org"));
  EXPECT_EQ(a.size(), 1 + 32 + 1 + 11 + 1);
  EXPECT_EQ(a.substr(a.size() - 13), "@example.org>");
  EXPECT_THROW(message_id("k", "r", "bad domain"), std::invalid_argument);
}

TEST(MailMime, TextOnlyIsOnePart) {
  Message m = sample();
  m.text = "Hello,\nsee you Monday.";
  const std::string data = render(m);
  const auto r = read_message(data);
  EXPECT_EQ(r["structure"], "text/plain");
  EXPECT_EQ(r["parts"][0]["cte"], "7bit");
  EXPECT_EQ(r["parts"][0]["text"], "Hello,\nsee you Monday.");
  EXPECT_FALSE(r["bare_lf"].get<bool>());
  EXPECT_EQ(r["headers"]["message-id"][0], m.message_id);
  EXPECT_EQ(r["headers"]["date"][0], "Mon, 11 Jan 2027 14:30:00 +0000");
  EXPECT_EQ(r["headers"]["mime-version"][0], "1.0");
}

TEST(MailMime, InvitationStructureWithInlineCalendar) {
  Message m = sample();
  m.text = "Mentoring Monday moved from Monday 18 January to Tuesday 19 January: Martin Luther King, Jr. Day\n"
           "Join: https://example.org/j/123";
  m.html = "<p>Mentoring Monday moved from <b>Monday 18 January</b> to <b>Tuesday 19 January</b></p>";
  m.calendar = CalendarPart{"REQUEST",
                            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//convene//test//EN\r\nMETHOD:REQUEST\r\n"
                            "BEGIN:VEVENT\r\nUID:mentoring-monday@convene\r\nDTSTAMP:20270111T143000Z\r\n"
                            "DTSTART:20270119T210000Z\r\nSEQUENCE:3\r\nSUMMARY:Mentoring Monday\r\n"
                            "END:VEVENT\r\nEND:VCALENDAR\r\n"};
  const std::string data = render(m);
  EXPECT_EQ(data, render(m)) << "the same message renders to the same bytes";
  const auto r = read_message(data);
  EXPECT_EQ(r["structure"], "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar))");
  ASSERT_EQ(r["parts"].size(), 3u);
  const auto& cal = r["parts"][2];
  EXPECT_EQ(cal["params"]["method"], "REQUEST");
  EXPECT_EQ(cal["params"]["charset"], "UTF-8");
  EXPECT_TRUE(cal["disposition"].is_null()) << "inline, not an attachment";
  EXPECT_EQ(r["calendar"]["method"], "REQUEST");
  EXPECT_EQ(r["calendar"]["events"][0]["sequence"], 3);
  EXPECT_EQ(r["parts"][0]["text"], m.text);
  EXPECT_TRUE(r["defects"].empty()) << r["defects"].dump();
  EXPECT_FALSE(r["eight_bit"].get<bool>());
}

TEST(MailMime, NonAsciiAndLongLinesAreQuotedPrintableOrBase64) {
  Message m = sample();
  m.text = "Café für Ärzte — " + std::string(200, 'x') + " end \nline with trailing space \n=equals=";
  m.html = "<p>Día</p>";
  m.calendar = CalendarPart{"CANCEL",
                            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//convene//test//EN\r\nMETHOD:CANCEL\r\n"
                            "BEGIN:VEVENT\r\nUID:x@convene\r\nDTSTAMP:20270111T143000Z\r\nSUMMARY:Día\r\n"
                            "END:VEVENT\r\nEND:VCALENDAR\r\n"};
  const auto r = read_message(render(m));
  EXPECT_EQ(r["parts"][0]["cte"], "quoted-printable");
  EXPECT_EQ(r["parts"][0]["text"], m.text);
  EXPECT_EQ(r["parts"][1]["cte"], "quoted-printable");
  EXPECT_EQ(r["parts"][2]["cte"], "base64");
  EXPECT_EQ(r["calendar"]["events"][0]["summary"], "Día");
  EXPECT_LE(r["longest_line"].get<int>(), 78);
  EXPECT_FALSE(r["eight_bit"].get<bool>());
  EXPECT_TRUE(r["defects"].empty()) << r["defects"].dump();
}

TEST(MailMime, CalendarMethodMustMatchTheContentType) {
  Message m = sample();
  m.calendar = CalendarPart{"REQUEST", "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"};
  EXPECT_THROW(render(m), std::invalid_argument);
  m.calendar = CalendarPart{"REQUEST", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"};
  EXPECT_THROW(render(m), std::invalid_argument);
  m.calendar = CalendarPart{"REQUEST\r\nX", "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nX\r\nEND:VCALENDAR\r\n"};
  EXPECT_THROW(render(m), std::invalid_argument);
}

// A 7bit part that happened to contain the boundary would end the part early; the
// boundary changes until no part contains it.
TEST(MailMime, BoundaryNeverOccursInAPart) {
  Message m = sample();
  m.html = "<p>x</p>";
  const std::string first = render(m);
  const auto at_boundary = first.find("boundary=\"");
  const std::string boundary = first.substr(at_boundary + 10, first.find('"', at_boundary + 10) - at_boundary - 10);
  m.text = "--" + boundary + "\nafter";
  const std::string data = render(m);
  const auto r = read_message(data);
  EXPECT_EQ(r["parts"].size(), 2u);
  EXPECT_EQ(r["parts"][0]["text"], m.text);
}

TEST(MailMime, QuotedPrintableRoundTripsThroughPython) {
  const std::string text = "a=b \t\r\n" + std::string(100, 'y') + "\r\n\xC3\xA9t\xC3\xA9 \r\nend";
  const std::string qp = quoted_printable(text);
  std::size_t start = 0;
  while (start < qp.size()) {
    auto end = qp.find("\r\n", start);
    if (end == std::string::npos) end = qp.size();
    EXPECT_LE(end - start, 76u);
    start = end + 2;
  }
  TempDir dir;
  write_file(dir / "qp", qp);
  const auto r = run_python({"-c", "import quopri,sys; sys.stdout.buffer.write(quopri.decodestring(open(sys.argv[1],'rb').read()))",
                             (dir / "qp").string()});
  EXPECT_EQ(r.out, text);
}
