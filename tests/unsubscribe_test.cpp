// One-click unsubscribe (RFC 8058) of reminders and notices (convene/remind.h): the
// headers each message carries, its plain-text and HTML parts, and the routes `convene
// serve` answers, on a real server on loopback and a real SMTP server (aiosmtpd).
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "convene/http.h"
#include "convene/invite.h"
#include "convene/remind.h"
#include "convene/store.h"
#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

using namespace convene::testing;
using nlohmann::json;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}

struct Answer {
  long status = 0;
  std::string body;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One request with libcurl: a POST of `form` (urlencoded) when given, else a GET.
Answer request(const std::string& url, const std::optional<std::string>& form) {
  Answer a;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  if (form) curl_easy_setopt(c, CURLOPT_POSTFIELDS, form->c_str());
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  curl_easy_cleanup(c);
  return a;
}

class Unsubscribe : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    sink_ = SmtpSink::start(dir_ / "sink", {}, error);
    ASSERT_TRUE(sink_) << error;
    StoreOptions o;
    o.path = (dir_ / "convene.db").string();
    o.clock = &clock_;
    store_ = Store::open(o);
    auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
    ASSERT_TRUE(loaded.ok());
    store_->import_definitions(*loaded.definitions, as_);
    TargetSpec t;
    t.name = "mail";
    t.kind = TargetKind::email;
    invite::EmailSettings s;
    s.smtp_url = sink_->url();
    s.from = {"School Nurse CoP", "cop@example.org"};
    t.settings = invite::to_json(s).dump();
    store_->add_target(t, as_);
    for (const char* id : {"rosa", "ben"}) {
      MemberSpec spec;
      spec.id = id;
      spec.name = std::string("Member ") + id;
      spec.email = std::string(id) + "@example.org";
      store_->add_member(spec, as_);
      store_->subscribe(id, {Subscription::Kind::series, "power-hour"}, as_);
    }
    remind::add_unsubscribe_routes(router_, *store_);
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<http::Server>(router_, options);
    ASSERT_FALSE(server_->listen());
    runner_ = std::thread([this] { server_->run(); });
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (runner_.joinable()) runner_.join();
  }

  remind::PassReport pass(const char* when) {
    clock_.set(at(when));
    remind::PassOptions options;
    options.base_url = base_;
    return remind::run_once(*store_, clock_, options);
  }

  TempDir dir_;
  SimulatedClock clock_{at("2027-02-03T12:00:00Z")};
  ChangeContext as_{.actor = "ana"};
  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<Store> store_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
  std::string base_;
};

TEST_F(Unsubscribe, EachMessageCarriesOneClickHeadersAndTwoParts) {
  pass("2027-02-03T12:00:00Z");
  ASSERT_EQ(pass("2027-02-03T19:45:00Z").sent, 2u);
  std::size_t seen = 0;
  const auto messages = sink_->read_new(seen);
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& m : messages) {
    const std::string to = m["to"][0]["addr"];
    const std::string member = to.substr(0, to.find('@'));
    const std::string url = base_ + "/unsubscribe/" + remind::unsubscribe_token(*store_, member);
    EXPECT_TRUE(m["defects"].empty()) << m.dump();
    ASSERT_EQ(m["headers"]["list-unsubscribe"].size(), 1u) << m.dump();
    std::string header = m["headers"]["list-unsubscribe"][0];
    header.erase(0, header.find_first_not_of(' '));  // a long field is folded (RFC 5322 2.2.3)
    EXPECT_EQ(header, "<" + url + ">");
    EXPECT_EQ(m["headers"]["list-unsubscribe-post"][0], "List-Unsubscribe=One-Click");
    std::set<std::string> types;
    for (const auto& part : m["parts"]) types.insert(part["type"].get<std::string>());
    EXPECT_EQ(types, (std::set<std::string>{"text/plain", "text/html"})) << m.dump();
    for (const auto& part : m["parts"]) {
      const std::string text = part["text"];
      if (part["type"] == "text/html") {
        EXPECT_NE(text.find("<a href=\"" + url + "\">Stop these reminders</a>"), std::string::npos) << text;
        EXPECT_NE(text.find("Room 204, 1200 First St NE"), std::string::npos) << text;
      } else {
        EXPECT_NE(text.find("Stop these reminders: " + url), std::string::npos) << text;
      }
    }
  }
}

// The one-click POST turns that member's reminders off (audited), and their waiting
// reminders are withdrawn at the next pass; the other member's go on. A wrong token, a
// token of one member with another's id, and a GET change nothing.
TEST_F(Unsubscribe, OneClickTurnsThatMembersRemindersOffAndAWrongTokenIsRefused) {
  MemberUpdate digest;  // the weekly digest has a link of its own: this one leaves it
  digest.digest = parse_digest_time("MO 07:00");
  store_->update_member("rosa", digest, as_);
  pass("2027-02-03T12:00:00Z");
  const std::string rosa = remind::unsubscribe_token(*store_, "rosa");
  const std::string ben = remind::unsubscribe_token(*store_, "ben");
  ASSERT_NE(rosa, ben);
  std::string forged = "rosa" + ben.substr(ben.find('.'));
  std::string flipped = rosa;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  for (const auto& wrong : {forged, flipped, std::string("rosa"), std::string("rosa."), std::string("nobody.") + rosa.substr(5)}) {
    EXPECT_EQ(request(base_ + "/unsubscribe/" + wrong, "List-Unsubscribe=One-Click").status, 404) << wrong;
  }
  EXPECT_EQ(request(base_ + "/unsubscribe/" + rosa, "List-Unsubscribe=Other").status, 400);
  const auto page = request(base_ + "/unsubscribe/" + rosa, std::nullopt);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("rosa@example.org"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("<form method=\"post\">"), std::string::npos) << page.body;
  EXPECT_EQ(store_->member("rosa")->reminders.channel, "email") << "nothing changed yet";

  const auto done = request(base_ + "/unsubscribe/" + rosa, "List-Unsubscribe=One-Click");
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(store_->member("rosa")->reminders.channel, "none");
  EXPECT_TRUE(store_->member("rosa")->digest) << "\"Stop these reminders\" stops the reminders, not the digest";
  EXPECT_EQ(store_->member("ben")->reminders.channel, "email");
  const auto history = store_->history();
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().actor, "unsubscribe");
  // Again: the same answer, nothing more.
  EXPECT_EQ(request(base_ + "/unsubscribe/" + rosa, "List-Unsubscribe=One-Click").status, 200);

  auto r = pass("2027-02-03T13:00:00Z");
  EXPECT_GE(r.withdrawn, 1u) << remind::report_text(r, false);
  r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 1u);
  std::size_t seen = 0;
  const auto messages = sink_->read_new(seen);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["to"][0]["addr"], "ben@example.org");
}

// Issue 13, round 3: a weekly digest's footer said "Stop these reminders", and its link
// turned the reminders off (and the digest). A digest's link is ?only=digest, its footer
// says "Stop this weekly digest", and the one-click POST stops that member's digest
// alone: text and behaviour agree.
TEST_F(Unsubscribe, ADigestsLinkSaysAndStopsTheWeeklyDigestAlone) {
  MemberUpdate digest;
  digest.digest = parse_digest_time("MO 07:00");
  store_->update_member("rosa", digest, as_);
  pass("2027-02-08T11:00:00Z");
  pass("2027-02-08T12:00:00Z");  // Monday 07:00 in New York
  std::size_t seen = 0;
  const auto messages = sink_->read_new(seen);
  const std::string url = base_ + "/unsubscribe/" + remind::unsubscribe_token(*store_, "rosa") + "?only=digest";
  std::size_t digests = 0;
  for (const auto& m : messages) {
    const std::string subject = m["headers"]["subject"][0];
    if (subject.rfind("Your week from", 0) != 0) continue;
    ++digests;
    EXPECT_EQ(m["to"][0]["addr"], "rosa@example.org");
    std::string header = m["headers"]["list-unsubscribe"][0];
    header.erase(0, header.find_first_not_of(' '));
    EXPECT_EQ(header, "<" + url + ">");
    for (const auto& part : m["parts"]) {
      const std::string text = part["text"];
      EXPECT_EQ(text.find("Stop these reminders"), std::string::npos) << text;
      if (part["type"] == "text/html") EXPECT_NE(text.find("\">Stop this weekly digest</a>"), std::string::npos) << text;
      else EXPECT_NE(text.find("Stop this weekly digest: " + url), std::string::npos) << text;
    }
  }
  ASSERT_EQ(digests, 1u) << messages.dump();
  const auto page = request(url, std::nullopt);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("Stop the weekly digest?"), std::string::npos) << page.body;
  ASSERT_TRUE(store_->member("rosa")->digest) << "a GET changes nothing";
  const auto done = request(url, "List-Unsubscribe=One-Click");
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_NE(done.body.find("no more weekly digests"), std::string::npos) << done.body;
  EXPECT_FALSE(store_->member("rosa")->digest);
  EXPECT_EQ(store_->member("rosa")->reminders.channel, "email") << "her reminders still come";
}

}  // namespace
}  // namespace convene
