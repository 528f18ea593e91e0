// A real CalDAV server accepts every feed convene publishes, event by event, and gives
// back the same events.
//
// The test starts Debian's Radicale (`/usr/bin/python3 -m radicale`, package radicale)
// on 127.0.0.1 with a port the kernel picks (hosts = 127.0.0.1:0; the port is read from
// Radicale's "Listening on" log line), its storage and config in a TempDir, and stops it
// at the end of the suite, whatever happened (SIGTERM, then SIGKILL after a deadline).
//
// For every feed file of a data set (the 2026-27 samples, and the generated schedule
// with every policy, override and DST case of tests/interop/): one calendar collection
// (MKCALENDAR), and one calendar object resource per UID (RFC 4791 §4.1: the master,
// its RECURRENCE-ID overrides and the VTIMEZONEs, no METHOD), each PUT with
// If-None-Match: * and expected 201. Then a REPORT calendar-query returns every object,
// and (in recurring feeds) a GET of each object returns it again; both are parsed with
// libical and must hold
// exactly the events of the feed: the same UIDs, RECURRENCE-IDs, DTSTARTs, ends,
// SEQUENCEs, RRULEs, RDATEs, EXDATEs and VALARMs.
#include <gtest/gtest.h>

#include <curl/curl.h>
#include <libical/ical.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace convene::testing;

namespace {

// Radicale, as a child process on 127.0.0.1 (tests/support/servers.h).
using Radicale = RadicaleServer;

// --- HTTP through libcurl --------------------------------------------------------------

struct Response {
  long status = 0;
  std::string body;
  std::string error;  // set when no response came
};

class Http {
 public:
  Http() : curl_(curl_easy_init()) {}
  ~Http() { curl_easy_cleanup(curl_); }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  Response request(const std::string& method, const std::string& url, const std::string& body = "",
                   const std::vector<std::string>& headers = {}) {
    Response r;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_USERPWD, "convene:convene");
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    if (!body.empty() || method == "PUT") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
    }
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
      static_cast<std::string*>(out)->append(data, size * n);
      return size * n;
    });
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
      r.error = std::string(curl_easy_strerror(rc)) + " (" + method + " " + url + ")";
      return r;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  CURL* curl_;
};

// --- iCalendar: splitting feeds, and what an event is -----------------------------------

struct Component {
  icalcomponent* c = nullptr;
  explicit Component(icalcomponent* c) : c(c) {}
  ~Component() {
    if (c) icalcomponent_free(c);
  }
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;
};

std::string to_text(icalcomponent* c) {
  char* text = icalcomponent_as_ical_string_r(c);
  std::string out = text ? text : "";
  free(text);
  return out;
}

// One calendar object resource per UID: VERSION, PRODID, CALSCALE (no METHOD, RFC 4791
// §4.1), every VTIMEZONE of the feed, then the UID's VEVENTs in feed order.
std::vector<std::pair<std::string, std::string>> split_by_uid(icalcomponent* feed) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<icalcomponent*>> events;
  for (icalcomponent* e = icalcomponent_get_first_component(feed, ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(feed, ICAL_VEVENT_COMPONENT)) {
    const std::string uid = icalcomponent_get_uid(e);
    if (!events.count(uid)) order.push_back(uid);
    events[uid].push_back(e);
  }
  std::vector<icalcomponent*> zones;
  for (icalcomponent* z = icalcomponent_get_first_component(feed, ICAL_VTIMEZONE_COMPONENT); z;
       z = icalcomponent_get_next_component(feed, ICAL_VTIMEZONE_COMPONENT))
    zones.push_back(z);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& uid : order) {
    Component object{icalcomponent_new_vcalendar()};
    icalcomponent_add_property(object.c, icalproperty_new_version("2.0"));
    icalcomponent_add_property(object.c, icalproperty_new_prodid("-//convene//feed radicale test//EN"));
    icalcomponent_add_property(object.c, icalproperty_new_calscale("GREGORIAN"));
    for (icalcomponent* z : zones) icalcomponent_add_component(object.c, icalcomponent_new_clone(z));
    for (icalcomponent* e : events[uid]) icalcomponent_add_component(object.c, icalcomponent_new_clone(e));
    out.emplace_back(uid, to_text(object.c));
  }
  return out;
}

// A property as "NAME;TZID=zone:value" (the value as libical writes it; TZID the only
// parameter kept, as servers may add or drop others).
//
// One normalisation: Radicale re-serialises through vobject, which writes a time of any
// zone whose offset is always 0 with a "Z" while keeping its TZID
// ("DTSTART;TZID=Etc/GMT:20270314T071500Z"). For TZID=Etc/GMT (what convene writes for
// sessions at a zone edge) that is the same instant, so the "Z" is dropped.
std::string property_text(icalproperty* p) {
  std::string out = icalproperty_get_property_name(p);
  const char* value = icalproperty_get_value_as_string(p);
  std::string v = value ? value : "";
  if (icalparameter* tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER)) {
    const std::string zone = icalparameter_get_tzid(tzid);
    out += ";TZID=" + zone;
    if (zone == "Etc/GMT" && !v.empty() && v.back() == 'Z') v.pop_back();
  }
  return out + ":" + v;
}

std::vector<std::string> properties(icalcomponent* c, icalproperty_kind kind) {
  std::vector<std::string> out;
  for (icalproperty* p = icalcomponent_get_first_property(c, kind); p;
       p = icalcomponent_get_next_property(c, kind))
    out.push_back(property_text(p));
  std::sort(out.begin(), out.end());
  return out;
}

// What must come back of an event: "UID | RECURRENCE-ID | DTSTART | DTEND/DURATION |
// SEQUENCE | RRULE | RDATEs | EXDATEs | VALARM triggers".
std::string event_signature(icalcomponent* e) {
  std::ostringstream out;
  auto join = [&](icalproperty_kind kind) {
    for (const auto& p : properties(e, kind)) out << p << " ";
    out << "| ";
  };
  join(ICAL_UID_PROPERTY);
  join(ICAL_RECURRENCEID_PROPERTY);
  join(ICAL_DTSTART_PROPERTY);
  join(ICAL_DTEND_PROPERTY);
  join(ICAL_DURATION_PROPERTY);
  join(ICAL_SEQUENCE_PROPERTY);
  join(ICAL_RRULE_PROPERTY);
  join(ICAL_RDATE_PROPERTY);
  join(ICAL_EXDATE_PROPERTY);
  std::vector<std::string> alarms;
  for (icalcomponent* a = icalcomponent_get_first_component(e, ICAL_VALARM_COMPONENT); a;
       a = icalcomponent_get_next_component(e, ICAL_VALARM_COMPONENT))
    for (const auto& t : properties(a, ICAL_TRIGGER_PROPERTY)) alarms.push_back(t);
  std::sort(alarms.begin(), alarms.end());
  for (const auto& a : alarms) out << "VALARM " << a << " ";
  return out.str();
}

// The signatures of every VEVENT of an iCalendar text (sorted), or an error.
std::vector<std::string> signatures(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  Component calendar{icalparser_parse_string(text.c_str())};
  EXPECT_NE(calendar.c, nullptr) << what << ": libical cannot parse:\n" << text.substr(0, 2000);
  if (!calendar.c) return out;
  for (icalcomponent* e = icalcomponent_get_first_component(calendar.c, ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(calendar.c, ICAL_VEVENT_COMPONENT))
    out.push_back(event_signature(e));
  std::sort(out.begin(), out.end());
  return out;
}

// --- WebDAV helpers -----------------------------------------------------------------------

std::string xml_unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto semi = s.find(';', i);
    const std::string entity = s.substr(i + 1, semi - i - 1);
    if (entity == "amp") out += '&';
    else if (entity == "lt") out += '<';
    else if (entity == "gt") out += '>';
    else if (entity == "quot") out += '"';
    else if (entity == "apos") out += '\'';
    else if (entity == "#13" || entity == "#xD" || entity == "#xd") out += '\r';
    else if (entity == "#10" || entity == "#xA" || entity == "#xa") out += '\n';
    else out += "&" + entity + ";";
    i = semi;
  }
  return out;
}

// The text of every calendar-data element of a multistatus, with the href of its
// response. Escaped XML text holds no '<', so each runs to the next '<'.
std::vector<std::pair<std::string, std::string>> calendar_data(const std::string& multistatus) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while ((pos = multistatus.find("calendar-data", pos)) != std::string::npos) {
    const std::size_t tag = multistatus.rfind('<', pos);
    const bool opening = tag != std::string::npos && multistatus[tag + 1] != '/' &&
                         multistatus.find_first_of(" >/", tag + 1) >= pos;  // <C:calendar-data ...>
    const std::size_t close = multistatus.find('>', pos);
    if (!opening || close == std::string::npos || multistatus[close - 1] == '/') {
      pos += 13;
      continue;
    }
    const std::size_t text_end = multistatus.find('<', close);
    const std::string data = multistatus.substr(close + 1, text_end - close - 1);
    // The href of this response: the last one before the data.
    // (rfind finds the closing tag, "</D:href>"; the text ends at its '<'.)
    const std::size_t href = multistatus.rfind("href>", tag);
    std::string where;
    if (href != std::string::npos) {
      const std::size_t text_end_of_href = multistatus.rfind('<', href);
      const std::size_t from = multistatus.rfind('>', text_end_of_href) + 1;
      where = multistatus.substr(from, text_end_of_href - from);
    }
    out.emplace_back(xml_unescape(where), xml_unescape(data));
    pos = text_end;
  }
  return out;
}

// A resource name for a UID: letters, digits, '-', '.', '_' kept, the rest as '_XX'.
std::string resource_name(const std::string& uid) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : uid) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_') {
      out += char(ch);
    } else {
      out += '_';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out + ".ics";
}

const char* kCalendarQuery =
    R"(<?xml version="1.0" encoding="utf-8"?>)"
    R"(<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">)"
    R"(<D:prop><D:getetag/><C:calendar-data/></D:prop>)"
    R"(<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>)"
    R"(</C:calendar-query>)";

const char* kMkcalendar =
    R"(<?xml version="1.0" encoding="utf-8"?>)"
    R"(<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>)"
    R"(<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>)"
    R"(</D:prop></D:set></C:mkcalendar>)";

// --- the fixture ----------------------------------------------------------------------------

struct DataSet {
  std::string name;
  fs::path definitions;
  std::string today;  // CONVENE_TODAY for publish (fixes the horizon)
};

class FeedRadicale : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto probe = run({"/usr/bin/python3", "-c", "import radicale"});
    if (probe.exit_code != 0) {
      start_error_ = new std::string(
          "Radicale is missing: `/usr/bin/python3 -c \"import radicale\"` failed (apt-get install radicale):\n" +
          probe.err);
      return;
    }
    std::string error;
    fs::create_directories(*dir_ / "radicale");
    server_ = Radicale::start(*dir_ / "radicale", error).release();
    if (!server_) start_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete server_;  // stops Radicale
    server_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
    ASSERT_NE(server_, nullptr);
  }

  // Publishes `set` and returns its feed files (sorted).
  static std::vector<fs::path> publish(const DataSet& set) {
    const fs::path out = *dir_ / ("published-" + set.name);
    auto r = run_cli({"publish", set.definitions.string(), "--out", out.string(), "--reminder", "PT15M"}, "",
                     {{"CONVENE_TODAY", set.today}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(out))
      if (entry.path().extension() == ".ics") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
  }

  // PUTs every UID of every feed file to its own collection and reads them back.
  static void round_trip(const DataSet& set, std::size_t expected_files) {
    const auto files = publish(set);
    ASSERT_EQ(files.size(), expected_files);
    Http http;
    std::size_t objects = 0;
    for (const auto& file : files) {
      SCOPED_TRACE(file.string());
      // feeds/series/x.ics -> <set>-feeds-series-x
      std::string name = set.name + "-" + fs::relative(file, *dir_ / ("published-" + set.name)).replace_extension().string();
      std::replace(name.begin(), name.end(), '/', '-');
      const std::string collection = "/convene/" + name + "/";
      auto made = http.request("MKCALENDAR", server_->url(collection), kMkcalendar,
                               {"Content-Type: application/xml; charset=utf-8"});
      ASSERT_EQ(made.status, 201) << made.error << made.body << server_->log_tail();

      const std::string text = read_file(file);
      Component feed{icalparser_parse_string(text.c_str())};
      ASSERT_NE(feed.c, nullptr);
      const auto expected = signatures(text, file.string());
      ASSERT_FALSE(expected.empty());
      const auto parts = split_by_uid(feed.c);
      std::map<std::string, std::string> uid_of_href;
      for (const auto& [uid, object] : parts) {
        const std::string href = collection + resource_name(uid);
        auto put = http.request("PUT", server_->url(href), object,
                                {"Content-Type: text/calendar; charset=utf-8", "If-None-Match: *"});
        ASSERT_TRUE(put.status == 201 || put.status == 204)
            << "PUT " << href << ": " << put.status << " " << put.error << "\n" << put.body << "\n"
            << server_->log_tail() << "\n" << object.substr(0, 3000);
        uid_of_href[href] = uid;
        ++objects;
      }

      // REPORT calendar-query: every object, with its data.
      auto report = http.request("REPORT", server_->url(collection), kCalendarQuery,
                                 {"Depth: 1", "Content-Type: application/xml; charset=utf-8"});
      ASSERT_EQ(report.status, 207) << report.error << report.body.substr(0, 2000);
      const auto returned = calendar_data(report.body);
      EXPECT_EQ(returned.size(), parts.size()) << "calendar-query returned another number of objects";
      std::vector<std::string> reported;
      for (const auto& [href, data] : returned) {
        EXPECT_EQ(uid_of_href.count(href), 1u) << "unknown href in the REPORT: " << href;
        for (auto& s : signatures(data, href)) reported.push_back(std::move(s));
      }
      std::sort(reported.begin(), reported.end());
      expect_same_events(expected, reported, "REPORT " + collection);

      // GET each object of a recurring feed: exactly its UID's events. (Expanded feeds
      // hold one object per session, thousands of them: the REPORT above covers them.)
      if (file.string().find("/expanded/") != std::string::npos) continue;
      std::vector<std::string> got;
      for (const auto& [href, uid] : uid_of_href) {
        auto get = http.request("GET", server_->url(href));
        ASSERT_EQ(get.status, 200) << "GET " << href << ": " << get.error;
        for (auto& s : signatures(get.body, href)) {
          EXPECT_EQ(s.rfind("UID:" + uid + " |", 0), 0u) << href << " holds another UID: " << s;
          got.push_back(std::move(s));
        }
      }
      std::sort(got.begin(), got.end());
      expect_same_events(expected, got, "GET " + collection + "*");
    }
    EXPECT_GT(objects, files.size());
  }

  static void expect_same_events(const std::vector<std::string>& expected, const std::vector<std::string>& actual,
                                 const std::string& what) {
    std::vector<std::string> missing, extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    std::ostringstream why;
    for (std::size_t i = 0; i < std::min<std::size_t>(missing.size(), 6); ++i) why << "  missing: " << missing[i] << "\n";
    for (std::size_t i = 0; i < std::min<std::size_t>(extra.size(), 6); ++i) why << "  extra:   " << extra[i] << "\n";
    EXPECT_TRUE(missing.empty() && extra.empty())
        << what << ": " << missing.size() << " missing, " << extra.size() << " extra of " << expected.size() << "\n"
        << why.str();
  }

  static TempDir* dir_;
  static Radicale* server_;
  static std::string* start_error_;
};

TempDir* FeedRadicale::dir_ = nullptr;
Radicale* FeedRadicale::server_ = nullptr;
std::string* FeedRadicale::start_error_ = nullptr;

TEST_F(FeedRadicale, ListensOnLoopback) {
  Http http;
  auto r = http.request("PROPFIND", server_->url("/convene/"), "", {"Depth: 0"});
  EXPECT_EQ(r.status, 207) << r.error << r.body;
}

TEST_F(FeedRadicale, AcceptsAndReturnsEveryEventOfTheSampleFeeds) {
  // all, 3 communities, 7 series; each recurring and expanded.
  round_trip({"samples", source_dir() / "samples" / "communities-2026-27.json", "2026-09-01"}, 22);
}

TEST_F(FeedRadicale, AcceptsAndReturnsEveryEventOfTheGeneratedDstAndPolicyFeeds) {
  const auto definitions = source_dir() / "tests" / "interop" / "generated-dst-policies.json";
  // all, each community, each series; each recurring and expanded.
  const auto json = nlohmann::json::parse(read_file(definitions), nullptr, true, /*ignore_comments=*/true);
  std::size_t feeds = 1;
  for (const auto& community : json["communities"]) feeds += 1 + community["series"].size();
  round_trip({"generated", definitions, "2026-07-01"}, 2 * feeds);
}

}  // namespace
