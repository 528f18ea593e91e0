// The regression suites of other recurrence engines, run through convene's.
//
// tests/data/recurrence/ holds the rule tables of libical, ical.net, python-dateutil, rrule.js
// and Apple's CalendarServer (pycalendar), each file naming where it came from, in libical's
// format (RRULE, DTSTART, INSTANCES; START-AT; EXCEPTION where the engine must refuse the rule).
// Each case is expanded by RecurrenceIterator (floating times, UNTIL in UTC read as local, as
// the suites do) and compared with the suite's instances. Where convene gives something else,
// tests/data/recurrence/decisions.txt must hold that case with convene's instances written out
// and the anchor of the section of docs/recurrence.md that says which reading convene follows
// and why: a difference nobody decided on fails, and so does a decision no case needs.
//
// One convention is adapted rather than listed case by case: libical, dateutil, rrule.js and
// pycalendar leave out a DTSTART that the rule does not produce, and count only the rule's
// instances, while RFC 5545 (§3.8.5.3: "The COUNT rule part ... The "DTSTART" property value
// always counts as the first occurrence") makes DTSTART the first instance (docs/recurrence.md,
// #dtstart-not-produced). Where a suite's list lacks DTSTART, convene's instances after DTSTART
// are compared, with COUNT one higher; the adapted cases are counted and pinned.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "convene/recurrence.h"
#include "convene/time.h"
#include "test_support.h"

namespace convene {
namespace {

namespace fs = std::filesystem;

const fs::path& data_dir() {
  static const fs::path dir = testing::source_dir() / "tests" / "data" / "recurrence";
  return dir;
}

struct SuiteCase {
  std::string source;  // file name
  int line = 0;        // of its RRULE
  std::string rrule, dtstart, start_at, window_end, duration;
  std::vector<std::string> instances;
  std::string instances_text;  // as written (an "*** ..." note, or the list)
  bool exception = false;

  std::string key() const {
    return source + " | " + rrule + " | " + dtstart + (start_at.empty() ? "" : " | from " + start_at) +
           (duration.empty() ? "" : " | lasting " + duration);
  }
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string after_colon(const std::string& line) {
  std::string v = line.substr(line.find(':') + 1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

// The cases of one suite file: blank lines end a case; "#" lines are comments.
std::vector<SuiteCase> read_suite(const std::string& name) {
  std::ifstream in(data_dir() / name);
  EXPECT_TRUE(in) << name;
  std::vector<SuiteCase> out;
  SuiteCase c;
  c.source = name;
  int number = 0;
  const auto flush = [&] {
    if (!c.rrule.empty() && (!c.instances_text.empty() || c.exception)) out.push_back(c);
    c = SuiteCase{};
    c.source = name;
  };
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    const std::string tag = line.substr(0, line.find(':'));
    const std::string value = after_colon(line);
    if (tag == "RRULE") {
      c.rrule = value;
      c.line = number;
    } else if (tag == "DTSTART") {
      c.dtstart = value;
    } else if (tag == "START-AT") {
      c.start_at = value;
    } else if (tag == "WINDOW-END") {
      c.window_end = value;
    } else if (tag == "DURATION") {
      c.duration = value;
    } else if (tag == "INSTANCES") {
      c.instances_text = value;
      if (value.rfind("***", 0) != 0) c.instances = split_commas(value);
    } else if (tag == "EXCEPTION") {
      c.exception = true;
    } else if (tag != "EXCEPTION-STEP") {
      ADD_FAILURE() << name << ":" << number << ": unknown line " << line;
    }
  }
  flush();
  return out;
}

// "19970902T090000", "19970902T090000Z" or "20241024" as a local time (a date: midnight).
std::optional<LocalTime> read_time(const std::string& text) {
  static const std::regex form(R"((\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?)");
  std::smatch m;
  if (!std::regex_match(text, m, form)) return std::nullopt;
  const date::year_month_day ymd{date::year{std::stoi(m[1])}, date::month{unsigned(std::stoi(m[2]))},
                                 date::day{unsigned(std::stoi(m[3]))}};
  if (!ymd.ok()) return std::nullopt;
  LocalTime t{LocalDay{ymd}};
  if (m[4].matched) t += Seconds{std::stoi(m[4]) * 3600 + std::stoi(m[5]) * 60 + std::stoi(m[6])};
  return t;
}

// `t` written as the suite writes DTSTART: a date, or a date-time with or without "Z".
std::string write_like(LocalTime t, const std::string& dtstart) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> tod{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()));
  std::string out = buf;
  if (dtstart.size() == 8) return out;
  std::snprintf(buf, sizeof buf, "T%02d%02d%02d", int(tod.hours().count()), int(tod.minutes().count()),
                int(tod.seconds().count()));
  out += buf;
  if (dtstart.back() == 'Z') out += "Z";
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

constexpr std::size_t kMostInstances = 2000;

struct Outcome {
  std::string text;        // "refused: <message>", or the instances joined
  bool adapted = false;    // compared after DTSTART (see the file comment)
};

// convene's instances of `c`, from START-AT on when given, before WINDOW-END when given.
std::vector<std::string> expand(const RecurrenceRule& rule, const SuiteCase& c, bool seek) {
  const LocalTime start = *read_time(c.dtstart);
  RecurrenceIterator it(rule, start, find_zone("Etc/UTC"));
  const auto from = read_time(c.start_at);
  if (seek && from) it.seek(*from);
  const auto end = read_time(c.window_end);
  std::vector<std::string> out;
  while (out.size() < kMostInstances) {
    const auto t = it.next();
    if (!t || (end && *t >= *end)) break;
    if (from && *t < *from) continue;
    out.push_back(write_like(*t, c.dtstart));
  }
  return out;
}

std::vector<std::string> from_start_at(const SuiteCase& c, std::vector<std::string> v) {
  const auto from = read_time(c.start_at);
  if (!from) return v;
  std::erase_if(v, [&](const std::string& s) { return *read_time(s) < *from; });
  return v;
}

Outcome run(const SuiteCase& c) {
  const auto parsed = RecurrenceRule::parse(c.rrule);
  if (!parsed) return {"refused: " + parsed.error()};
  if (!read_time(c.dtstart)) return {"refused: DTSTART " + c.dtstart + " is not a date"};
  std::vector<std::string> ours = expand(*parsed, c, false);
  // seek() to START-AT gives what next() gives from there.
  if (!c.start_at.empty()) EXPECT_EQ(expand(*parsed, c, true), ours) << c.key() << ": seek() differs";
  const std::string start = write_like(*read_time(c.dtstart), c.dtstart);
  const bool suite_drops_dtstart = !c.instances.empty() &&
                                   std::find(c.instances.begin(), c.instances.end(), start) == c.instances.end() &&
                                   !ours.empty() && ours.front() == start;
  if (suite_drops_dtstart && from_start_at(c, c.instances) != ours) {
    RecurrenceRule one_more = *parsed;
    if (one_more.count) one_more.count = *one_more.count + 1;
    auto after = expand(one_more, c, false);
    if (!after.empty() && after.front() == start) after.erase(after.begin());
    return {join(after), true};
  }
  return {join(ours)};
}

struct Decision {
  std::string key, convene, why;
  int line = 0;
  bool used = false;
};

// decisions.txt: "SOURCE:", "RRULE:", "DTSTART:", optional "START-AT:" and "DURATION:", "CONVENE:" (convene's
// instances, "...": the first of more, or "refused: ..." with the start of the message), "WHY:" (an anchor of
// docs/recurrence.md); blank lines between entries, "#" comments.
std::map<std::string, Decision> read_decisions() {
  std::ifstream in(data_dir() / "decisions.txt");
  EXPECT_TRUE(in);
  std::map<std::string, Decision> out;
  SuiteCase c;
  Decision d;
  int number = 0;
  const auto flush = [&] {
    if (!c.rrule.empty()) {
      d.key = c.key();
      EXPECT_FALSE(d.why.empty()) << "decisions.txt:" << d.line << ": no WHY";
      EXPECT_TRUE(out.emplace(d.key, d).second) << "decisions.txt:" << d.line << ": listed twice";
    }
    c = SuiteCase{};
    d = Decision{};
  };
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    const std::string tag = line.substr(0, line.find(':'));
    const std::string value = after_colon(line);
    if (tag == "SOURCE") c.source = value, d.line = number;
    else if (tag == "RRULE") c.rrule = value;
    else if (tag == "DTSTART") c.dtstart = value;
    else if (tag == "START-AT") c.start_at = value;
    else if (tag == "DURATION") c.duration = value;
    else if (tag == "CONVENE") d.convene = value;
    else if (tag == "WHY") d.why = value;
    else ADD_FAILURE() << "decisions.txt:" << number << ": unknown line " << line;
  }
  flush();
  return out;
}

std::set<std::string> doc_anchors() {
  std::ifstream in(testing::source_dir() / "docs" / "recurrence.md");
  EXPECT_TRUE(in) << "docs/recurrence.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  std::set<std::string> out;
  static const std::regex anchor(R"re(<a id="([a-z0-9-]+)"></a>)re");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), anchor); it != std::sregex_iterator(); ++it)
    out.insert((*it)[1]);
  return out;
}

// The outcome matches the decision: the same instances, or a refusal whose message begins
// with what the decision quotes.
// A decision ending in "..." gives the first instances of a longer list (an unbounded rule).
bool matches(const Outcome& o, const std::string& decided) {
  if (decided.rfind("refused: ", 0) == 0) return o.text.rfind(decided, 0) == 0;
  if (decided.size() > 3 && decided.compare(decided.size() - 3, 3, "...") == 0)
    return o.text.rfind(decided.substr(0, decided.size() - 3), 0) == 0;
  return o.text == decided;
}

TEST(RecurrenceSuites, EveryDifferenceFromOtherEnginesIsDecidedAndDocumented) {
  const std::vector<std::string> files = {"libical-icalrecur_test.txt", "icalnet-RecurrenceTestCases.txt",
                                          "dateutil-test_rrule.txt", "rrulejs-rrule_test.txt",
                                          "calendarserver-rrule_examples.txt"};
  auto decisions = read_decisions();
  const auto anchors = doc_anchors();
  std::map<std::string, int> cases, agreed, decided, adapted;
  std::vector<std::string> failures;
  for (const auto& file : files) {
    for (const SuiteCase& c : read_suite(file)) {
      ++cases[file];
      const Outcome o = run(c);
      adapted[file] += o.adapted;
      const bool agree = c.exception ? o.text.rfind("refused: ", 0) == 0
                                     : c.instances_text.rfind("***", 0) != 0 &&
                                           from_start_at(c, c.instances) == split_commas(o.text);
      auto d = decisions.find(c.key());
      if (agree) {
        ++agreed[file];
        if (d != decisions.end()) failures.push_back(file + ":" + std::to_string(c.line) +
                                                     ": convene agrees, but decisions.txt lists it");
        continue;
      }
      const std::string entry = "SOURCE:" + c.source + "\nRRULE:" + c.rrule + "\nDTSTART:" + c.dtstart +
                                (c.start_at.empty() ? "" : "\nSTART-AT:" + c.start_at) +
                                (c.duration.empty() ? "" : "\nDURATION:" + c.duration) +
                                "\nCONVENE:" + o.text.substr(0, 160) + "\nWHY:";
      if (d == decisions.end()) {
        failures.push_back(file + ":" + std::to_string(c.line) + ": convene differs (suite: " +
                           (c.exception ? "an error" : c.instances_text) + "), undecided:\n" + entry);
        continue;
      }
      d->second.used = true;
      ++decided[file];
      if (!matches(o, d->second.convene))
        failures.push_back(file + ":" + std::to_string(c.line) + ": convene now gives\n" + entry +
                           "\n  decided (decisions.txt:" + std::to_string(d->second.line) + "): " +
                           d->second.convene);
      if (!anchors.count(d->second.why))
        failures.push_back("decisions.txt:" + std::to_string(d->second.line) + ": WHY " + d->second.why +
                           " is no anchor of docs/recurrence.md");
    }
  }
  for (const auto& [key, d] : decisions)
    if (!d.used) failures.push_back("decisions.txt:" + std::to_string(d.line) + ": no case needs it: " + key);
  std::string report;
  for (const auto& f : failures) report += f + "\n\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " problems:\n" << report;

  // What the suites hold and how convene fares, pinned (a new case or a changed outcome
  // shows here, not silently).
  const std::map<std::string, int> expected_cases = {
      {"calendarserver-rrule_examples.txt", 17}, {"dateutil-test_rrule.txt", 30},
      {"icalnet-RecurrenceTestCases.txt", 87},   {"libical-icalrecur_test.txt", 141},
      {"rrulejs-rrule_test.txt", 1}};
  EXPECT_EQ(cases, expected_cases);
  EXPECT_EQ(agreed, (std::map<std::string, int>{{"calendarserver-rrule_examples.txt", 14},
                                                {"dateutil-test_rrule.txt", 26},
                                                {"icalnet-RecurrenceTestCases.txt", 77},
                                                {"libical-icalrecur_test.txt", 137},
                                                {"rrulejs-rrule_test.txt", 1}}));
  EXPECT_EQ(adapted, (std::map<std::string, int>{{"calendarserver-rrule_examples.txt", 4},
                                                 {"dateutil-test_rrule.txt", 25},
                                                 {"icalnet-RecurrenceTestCases.txt", 7},
                                                 {"libical-icalrecur_test.txt", 11},
                                                 {"rrulejs-rrule_test.txt", 1}}));
  std::ostringstream summary;
  for (const auto& [file, n] : cases)
    summary << file << ": " << n << " cases, " << agreed[file] << " agree (" << adapted[file]
            << " after DTSTART), " << decided[file] << " decided\n";
  std::cout << summary.str();
}

// Every reference to docs/recurrence.md from the recurrence tests and the engine names a
// section that exists (the differential test's pinned classes point there).
TEST(RecurrenceSuites, ReferencesToTheDocumentNameItsSections) {
  const auto anchors = doc_anchors();
  EXPECT_GT(anchors.size(), 15u);
  static const std::regex reference(R"(docs/recurrence\.md#([a-z0-9-]+))");
  static const std::regex why(R"re(rdates\("#([a-z0-9-]+))re");
  int references = 0;
  for (const char* file : {"tests/recurrence_differential_test.cpp", "tests/oracles/dateutil_oracle.py",
                           "scheduler/recurrence_rule.cpp", "include/convene/recurrence.h"}) {
    std::ifstream in(testing::source_dir() / file);
    ASSERT_TRUE(in) << file;
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (const auto* re : {&reference, &why}) {
      for (auto it = std::sregex_iterator(s.begin(), s.end(), *re); it != std::sregex_iterator(); ++it) {
        ++references;
        EXPECT_TRUE(anchors.count((*it)[1])) << file << " refers to docs/recurrence.md#" << (*it)[1];
      }
    }
  }
  EXPECT_GE(references, 20);
}

}  // namespace
}  // namespace convene
