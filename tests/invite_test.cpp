// The sync engine (convene/invite.h) on real servers: the sample communities in a real
// SQLite store, an email target on python3-aiosmtpd and a CalDAV target on Radicale,
// both on loopback, started by the test. Messages are read as a mail client reads them
// (Python's email package and python3-icalendar, tests/oracles/read_mail.py); every
// REQUEST and CANCEL part also passes libical's iTIP restriction check.
#include <gtest/gtest.h>

#include <libical/ical.h>
#include <sqlite3.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "convene/invite.h"
#include "convene/store.h"
#include "servers.h"
#include "test_support.h"

using namespace convene;
using namespace convene::testing;
using nlohmann::json;

namespace {

Instant at(int y, unsigned m, unsigned d, int hh = 12) {
  return Instant{date::sys_days{date::year{y} / m / d}} + std::chrono::hours{hh};
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }

// libical's iTIP restriction check (RFC 5546's tables) of one calendar part; "" when it passes.
std::string restriction_problems(const std::string& ics) {
  icalcomponent* c = icalparser_parse_string(ics.c_str());
  if (!c) return "libical cannot parse it";
  std::string problems;
  if (!icalrestriction_check(c)) {
    for (icalcomponent* sub = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); sub;
         sub = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
      for (icalproperty* p = icalcomponent_get_first_property(sub, ICAL_XLICERROR_PROPERTY); p;
           p = icalcomponent_get_next_property(sub, ICAL_XLICERROR_PROPERTY))
        problems += std::string(icalproperty_get_xlicerror(p)) + "\n";
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY))
      problems += std::string(icalproperty_get_xlicerror(p)) + "\n";
    if (problems.empty()) problems = "icalrestriction_check failed";
  }
  icalcomponent_free(c);
  return problems;
}

class Invite : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    sink_ = SmtpSink::start(dir_ / "sink", {}, error);
    ASSERT_TRUE(sink_) << error;
    StoreOptions o;
    o.path = (dir_ / "convene.db").string();
    o.clock = &clock_;
    store_ = Store::open(o);
    auto loaded = load_definitions((source_dir() / "samples/communities-2026-27.json").string());
    ASSERT_TRUE(loaded.ok());
    store_->import_definitions(*loaded.definitions, as_);
    add_member("rosa", "Rosa Díaz", Delivery::invite, {Subscription::Kind::community, "school-nurses"});
    add_member("ben", "Ben Ode", Delivery::invite, {Subscription::Kind::series, "power-hour"});
    add_member("dee", "Dee Feed", Delivery::feed, {Subscription::Kind::community, "school-nurses"});
    TargetSpec t;
    t.name = "mail";
    t.kind = TargetKind::email;
    invite::EmailSettings s;
    s.smtp_url = sink_->url();
    s.from = {"School Nurse CoP", "cop@example.org"};
    t.settings = invite::to_json(s).dump();
    t.communities = std::vector<std::string>{"school-nurses"};
    store_->add_target(t, as_);
  }

  void add_member(const std::string& id, const std::string& name, Delivery delivery, const Subscription& to) {
    MemberSpec spec;
    spec.id = id;
    spec.name = name;
    spec.email = id + "@example.org";
    store_->add_member(spec, as_);
    MemberUpdate u;
    u.delivery = delivery;
    store_->update_member(id, u, as_);
    store_->subscribe(id, to, as_);
  }

  invite::SyncReport sync(bool dry_run = false) {
    invite::SyncOptions options;
    options.dry_run = dry_run;
    return invite::sync(*store_, clock_, options);
  }

  // The messages the sink received since the last call, as read_mail.py reads them.
  json new_messages() { return sink_->read_new(seen_); }

  // Every message is well formed, 7-bit, with the invitation's MIME structure, one
  // recipient, METHOD equal to the Content-Type's, and a calendar libical accepts.
  static void expect_well_formed(const json& m) {
    EXPECT_TRUE(m["defects"].empty()) << m["file"] << m["defects"].dump();
    EXPECT_FALSE(m["eight_bit"].get<bool>());
    EXPECT_EQ(m["structure"], "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar))");
    ASSERT_EQ(m["to"].size(), 1u);
    ASSERT_FALSE(m["calendar"].is_null());
    EXPECT_EQ(m["calendar"]["method"], m["calendar"]["content_type_method"]);
    const std::string ics = m["parts"][2]["text"];
    EXPECT_EQ(restriction_problems(ics), "") << ics;
    for (const auto& e : m["calendar"]["events"]) {
      ASSERT_FALSE(e["organizer"].is_null());
      EXPECT_EQ(e["organizer"]["value"].get<std::string>().rfind("mailto:", 0), 0u);
      ASSERT_EQ(e["attendees"].size(), 1u) << "only the recipient's own ATTENDEE";
      EXPECT_EQ(e["attendees"][0]["value"], "mailto:" + m["to"][0]["addr"].get<std::string>());
      if (m["calendar"]["method"] == "REQUEST") EXPECT_EQ(e["attendees"][0]["params"]["RSVP"], "TRUE");
    }
  }

  // Messages by recipient, then by (method, UID).
  static std::map<std::string, std::vector<json>> by_recipient(const json& messages) {
    std::map<std::string, std::vector<json>> out;
    for (const auto& m : messages) out[m["to"][0]["addr"]].push_back(m);
    return out;
  }

  TempDir dir_;
  SimulatedClock clock_{at(2026, 8, 20)};
  ChangeContext as_{"ana", std::nullopt, std::nullopt};
  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<Store> store_;
  std::size_t seen_ = 0;
};

const json* event_with(const json& m, const std::string& uid, const std::optional<std::string>& recurrence_id) {
  for (const auto& e : m["calendar"]["events"]) {
    if (e["uid"] != uid) continue;
    if (!recurrence_id && e["recurrence_id"].is_null()) return &e;
    if (recurrence_id && !e["recurrence_id"].is_null() &&
        e["recurrence_id"]["text"].get<std::string>().rfind(*recurrence_id, 0) == 0)
      return &e;
  }
  return nullptr;
}

}  // namespace

// The check the messages pass must refuse what iTIP forbids, or passing it says nothing.
TEST(ItipRestriction, RefusesARequestWithoutOrganizerOrWithACancelledStatus) {
  const std::string head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
                           "UID:x@convene\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270102T150000Z\r\n"
                           "SEQUENCE:0\r\nSUMMARY:x\r\nATTENDEE:mailto:rosa@example.org\r\n";
  const std::string tail = "END:VEVENT\r\nEND:VCALENDAR\r\n";
  EXPECT_EQ(restriction_problems(head + "ORGANIZER:mailto:cop@example.org\r\n" + tail), "");
  EXPECT_NE(restriction_problems(head + tail), "") << "no ORGANIZER";
  EXPECT_NE(restriction_problems(head + "ORGANIZER:mailto:cop@example.org\r\nSTATUS:CANCELLED\r\n" + tail), "");
}

TEST_F(Invite, InvitesEachInviteMemberOncePerSeriesInTheTargetsScope) {
  const auto report = sync();
  ASSERT_TRUE(report.ok()) << invite::report_text(report);
  ASSERT_EQ(report.targets.size(), 1u);
  EXPECT_EQ(report.targets[0].plan.count(OperationKind::create), 4u) << invite::report_text(report);
  const auto messages = new_messages();
  ASSERT_EQ(messages.size(), 5u) << "4 series to rosa, power-hour to ben; dee takes the feed";
  const auto mine = by_recipient(messages);
  ASSERT_EQ(mine.at("rosa@example.org").size(), 4u);
  ASSERT_EQ(mine.at("ben@example.org").size(), 1u);
  EXPECT_EQ(mine.count("dee@example.org"), 0u);
  std::set<std::string> ids;
  for (const auto& m : messages) {
    expect_well_formed(m);
    EXPECT_EQ(m["calendar"]["method"], "REQUEST");
    EXPECT_TRUE(ids.insert(m["headers"]["message-id"][0]).second) << "Message-IDs differ";
    EXPECT_EQ(m["from"][0]["addr"], "cop@example.org");
  }
  // Mentoring Monday: the master and its overrides in one VCALENDAR, the feed's UID; the
  // MLK Day shift is an override whose text says why.
  const json* mm = nullptr;
  for (const auto& m : mine.at("rosa@example.org"))
    if (event_with(m, "mentoring-monday@convene", std::nullopt)) mm = &m;
  ASSERT_TRUE(mm);
  EXPECT_EQ((*mm)["headers"]["subject"][0], "Invitation: Mentoring Monday");
  EXPECT_EQ((*mm)["to"][0]["name"], "Rosa Díaz");
  const json* mlk = event_with(*mm, "mentoring-monday@convene", "2027-01-18T16:00");
  ASSERT_TRUE(mlk) << (*mm)["parts"][2]["text"];
  EXPECT_EQ((*mlk)["dtstart"]["text"].get<std::string>().substr(0, 16), "2027-01-19T16:00");
  EXPECT_NE((*mlk)["description"].get<std::string>().find("Martin Luther King, Jr. Day"), std::string::npos);
  EXPECT_NE((*mm)["parts"][0]["text"].get<std::string>().find("You are invited to Mentoring Monday"), std::string::npos);

  // Nothing changed: nothing to plan, nothing sent.
  const auto again = sync();
  EXPECT_TRUE(again.targets[0].plan.empty()) << invite::report_text(again);
  EXPECT_TRUE(new_messages().empty());
}

TEST_F(Invite, ARescheduleIsARequestWithAHigherSequenceInTheMembersWords) {
  ASSERT_TRUE(sync().ok());
  new_messages();
  as_.reason = "Presenter's request";
  store_->reschedule("power-hour", lt("2027-02-10T15:00"), lt("2027-02-11T15:00"), std::nullopt, as_);
  const auto report = sync();
  ASSERT_TRUE(report.ok()) << invite::report_text(report);
  const auto messages = new_messages();
  ASSERT_EQ(messages.size(), 2u) << invite::report_text(report);
  for (const auto& m : messages) {
    expect_well_formed(m);
    EXPECT_EQ(m["calendar"]["method"], "REQUEST");
    EXPECT_EQ(m["headers"]["subject"][0], "Power Hour moved to Thursday 11 February");
    const json* e = event_with(m, "power-hour@convene", "2027-02-10T15:00");
    ASSERT_TRUE(e) << m["parts"][2]["text"];
    EXPECT_GT((*e)["sequence"].get<int>(), 0);
    EXPECT_EQ((*e)["dtstart"]["text"].get<std::string>().substr(0, 16), "2027-02-11T15:00");
    EXPECT_NE(m["parts"][0]["text"].get<std::string>().find(
                  "Power Hour moved from Wednesday 10 February to Thursday 11 February: Presenter's request"),
              std::string::npos)
        << m["parts"][0]["text"];
  }
}

TEST_F(Invite, ACancelledSessionIsACancelOfThatSessionOnly) {
  ASSERT_TRUE(sync().ok());
  new_messages();
  as_.reason = "Staff development day";
  store_->cancel("power-hour", lt("2027-03-10T15:00"), as_);
  const auto report = sync();
  ASSERT_TRUE(report.ok()) << invite::report_text(report);
  const auto messages = new_messages();
  ASSERT_EQ(messages.size(), 2u) << invite::report_text(report);
  for (const auto& m : messages) {
    expect_well_formed(m);
    EXPECT_EQ(m["calendar"]["method"], "CANCEL") << invite::report_text(report);
    ASSERT_EQ(m["calendar"]["events"].size(), 1u);
    const auto& e = m["calendar"]["events"][0];
    ASSERT_FALSE(e["recurrence_id"].is_null()) << "never the whole series (Nextcloud #59695)";
    EXPECT_EQ(e["recurrence_id"]["text"].get<std::string>().substr(0, 16), "2027-03-10T15:00");
    EXPECT_EQ(e["status"], "CANCELLED");
    EXPECT_GT(e["sequence"].get<int>(), 0);
    EXPECT_NE(m["parts"][0]["text"].get<std::string>().find("Staff development day"), std::string::npos);
  }
}

TEST_F(Invite, AMemberWhoLeavesGetsACancelOfTheSeries) {
  ASSERT_TRUE(sync().ok());
  new_messages();
  store_->unsubscribe("ben", {Subscription::Kind::series, "power-hour"}, as_);
  MemberUpdate u;
  u.delivery = Delivery::feed;
  store_->update_member("rosa", u, as_);
  const auto report = sync();
  ASSERT_TRUE(report.ok()) << invite::report_text(report);
  const auto mine = by_recipient(new_messages());
  ASSERT_EQ(mine.at("ben@example.org").size(), 1u);
  ASSERT_EQ(mine.at("rosa@example.org").size(), 4u) << "rosa takes the feed now: each series leaves her calendar";
  for (const auto& [who, list] : mine)
    for (const auto& m : list) {
      expect_well_formed(m);
      EXPECT_EQ(m["calendar"]["method"], "CANCEL");
      EXPECT_TRUE(m["calendar"]["events"][0]["recurrence_id"].is_null());
    }
}

TEST_F(Invite, ADryRunShowsThePlanAndSendsNothing) {
  const auto report = sync(true);
  EXPECT_TRUE(report.dry_run);
  EXPECT_EQ(report.targets[0].plan.operations.size(), 4u);
  EXPECT_FALSE(report.targets[0].attempted);
  EXPECT_TRUE(new_messages().empty());
  EXPECT_TRUE(store_->outbox().empty());
  EXPECT_TRUE(store_->remote_records("mail").empty());
  const std::string text = invite::report_text(report);
  EXPECT_NE(text.find("target mail (email): 4 operations"), std::string::npos) << text;
  EXPECT_NE(text.find("create mentoring-monday (rosa)"), std::string::npos) << text;
  EXPECT_NE(text.find("create power-hour (ben, rosa)"), std::string::npos) << text;
  const auto j = invite::report_json(report);
  EXPECT_EQ(j["targets"][0]["operations"][0]["kind"], "create");
}

TEST_F(Invite, CaldavTargetHoldsOneObjectPerSeriesWithItsAttendees) {
  std::string error;
  auto dav = RadicaleServer::start(dir_ / "radicale", error, {{"cop", "pw"}});
  ASSERT_TRUE(dav) << error;
  ASSERT_EQ(dav->make_calendar("/cop/nurses/", "cop", "pw"), 201);
  write_file(dir_ / "dav.pass", "pw\n");
  ::chmod((dir_ / "dav.pass").c_str(), 0600);
  TargetSpec t;
  t.name = "dav";
  t.kind = TargetKind::caldav;
  invite::CaldavSettings s;
  s.url = dav->url("/cop/nurses/");
  s.username = "cop";
  s.password = SecretRef::file(dir_ / "dav.pass");
  s.organizer = mail::Address{"School Nurse CoP", "cop@example.org"};
  t.settings = invite::to_json(s).dump();
  t.communities = std::vector<std::string>{"school-nurses"};
  store_->add_target(t, as_);
  invite::SyncOptions options;
  options.target = "dav";
  auto report = invite::sync(*store_, clock_, options);
  ASSERT_TRUE(report.ok()) << invite::report_text(report);
  EXPECT_EQ(report.targets[0].outcome.done, 4u) << invite::report_text(report);
  const auto records = store_->remote_records("dav");
  std::size_t series_records = 0;
  for (const auto& r : records) series_records += !r.occurrence;
  EXPECT_EQ(series_records, 4u);
  // Changed on the server behind our back (an attendee's reply, say): the next write
  // meets a 412, reads it again and re-applies.
  store_->reschedule("power-hour", lt("2027-02-10T15:00"), lt("2027-02-11T15:00"), std::nullopt, as_);
  for (auto r : records)
    if (r.series == "power-hour" && !r.occurrence) {
      r.etag = "\"stale\"";
      std::vector<RemoteRecord> mine;
      for (const auto& x : records)
        if (x.series == "power-hour") mine.push_back(x.occurrence ? x : r);
      store_->put_remote_records("dav", "power-hour", "", mine);
    }
  report = invite::sync(*store_, clock_, options);
  ASSERT_TRUE(report.ok()) << invite::report_text(report);
  EXPECT_EQ(report.targets[0].outcome.done, 1u) << invite::report_text(report);
  report = invite::sync(*store_, clock_, options);
  EXPECT_TRUE(report.targets[0].plan.empty()) << invite::report_text(report);
}

// Bad input: each problem is one clear message, and everything else is still served.
TEST_F(Invite, ARefusedOrInvalidAddressFailsAloneAndTheOthersAreServed) {
  std::string error;
  SmtpSinkOptions options;
  options.reject = "^ben@";
  auto strict = SmtpSink::start(dir_ / "strict", options, error);
  ASSERT_TRUE(strict) << error;
  invite::EmailSettings s;
  s.smtp_url = strict->url();
  s.from = {"School Nurse CoP", "cop@example.org"};
  TargetSpec t;
  t.name = "strict";
  t.kind = TargetKind::email;
  t.settings = invite::to_json(s).dump();
  store_->add_target(t, as_);
  MemberSpec odd;
  odd.id = "odd";
  // The store now refuses such an address where it enters (issue 7, validate.h); a store
  // written before that can still hold one, which the sync must fail alone: written here
  // past the store's API, as an older convene left it.
  odd.email = "odd@example.org";
  store_->add_member(odd, as_);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "convene.db").c_str(), &db), SQLITE_OK);
    const int rc = sqlite3_exec(db, "UPDATE members SET email = 'odd..dots@example.org' WHERE id = 'odd'",
                                nullptr, nullptr, nullptr);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK);
  }
  MemberUpdate u;
  u.delivery = Delivery::invite;
  store_->update_member("odd", u, as_);
  store_->subscribe("odd", {Subscription::Kind::series, "power-hour"}, as_);
  invite::SyncOptions o;
  o.target = "strict";
  const auto report = invite::sync(*store_, clock_, o);
  const std::string text = invite::report_text(report);
  EXPECT_TRUE(report.ok()) << "a member's address is not the target's failure: " << text;
  const auto& outcome = report.targets[0].outcome;
  EXPECT_EQ(outcome.done, 4u) << text;  // rosa's four
  EXPECT_EQ(outcome.failed, 2u) << text;
  EXPECT_NE(text.find("ben@example.org: RCPT TO <ben@example.org> refused: 550 5.1.1"), std::string::npos) << text;
  EXPECT_NE(text.find("member odd: the address \"odd..dots@example.org\" has a misplaced dot"), std::string::npos)
      << text;
  EXPECT_EQ(strict->messages().size(), 4u);
  // Ben's refusal is final: the next sync does not send it again, and says so again.
  const auto again = invite::sync(*store_, clock_, o);
  EXPECT_EQ(again.targets[0].outcome.done, 0u);
  EXPECT_EQ(strict->messages().size(), 4u);
  EXPECT_NE(invite::report_text(again).find("ben@example.org: RCPT TO"), std::string::npos);
}

TEST_F(Invite, ATargetThatIsDownIsReportedAndTheOthersGoOn) {
  RefusingPort down;
  invite::EmailSettings s;
  s.smtp_url = "smtp://127.0.0.1:" + std::to_string(down.port());
  s.from = {"School Nurse CoP", "cop@example.org"};
  TargetSpec t;
  t.name = "down";
  t.kind = TargetKind::email;
  t.settings = invite::to_json(s).dump();
  store_->add_target(t, as_);
  // A CalDAV target whose password file others can read: refused at sync, saying so.
  write_file(dir_ / "open.pass", "pw\n");
  ::chmod((dir_ / "open.pass").c_str(), 0644);
  invite::CaldavSettings c;
  c.url = "http://127.0.0.1:" + std::to_string(down.port()) + "/cop/nurses/";
  c.username = "cop";
  c.password = SecretRef::file(dir_ / "open.pass");
  TargetSpec d;
  d.name = "loose";
  d.kind = TargetKind::caldav;
  d.settings = invite::to_json(c).dump();
  store_->add_target(d, as_);

  const auto report = sync();
  EXPECT_FALSE(report.ok());
  std::map<std::string, const invite::TargetReport*> by_name;
  for (const auto& r : report.targets) by_name[r.name] = &r;
  EXPECT_NE(by_name.at("down")->error.find("cannot connect to the SMTP server smtp://127.0.0.1:"), std::string::npos)
      << by_name.at("down")->error;
  EXPECT_NE(by_name.at("loose")->error.find("has mode 0644"), std::string::npos) << by_name.at("loose")->error;
  EXPECT_TRUE(by_name.at("mail")->error.empty()) << by_name.at("mail")->error;
  EXPECT_EQ(new_messages().size(), 5u) << "the working target was served";
  EXPECT_EQ(store_->require_target("down").failures, 1u);
  EXPECT_EQ(store_->require_target("down").last_error, by_name.at("down")->error);
  // Nothing of the failed target was lost: its plan is whole at the next sync.
  invite::SyncOptions only;
  only.target = "down";
  only.dry_run = true;
  EXPECT_EQ(invite::sync(*store_, clock_, only).targets[0].plan.operations.size(), 4u);
  EXPECT_THROW(
      {
        only.target = "nope";
        invite::sync(*store_, clock_, only);
      },
      StoreError);
}
