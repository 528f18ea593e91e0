// Reminders and notices through the outbox to a real SMTP server (python3-aiosmtpd on
// loopback), one pass at a time at simulated times (convene/remind.h).
#include "convene/remind.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "convene/fault_points.h"
#include "convene/invite.h"
#include "convene/mail.h"
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
LocalTime lt(const char* text) { return *parse_local_minute(text); }

class Remind : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    SmtpSinkOptions options;
    options.reject = "^refused@";
    sink_ = SmtpSink::start(dir_ / "sink", options, error);
    ASSERT_TRUE(sink_) << error;
    StoreOptions o;
    o.path = path_;
    o.clock = &clock_;
    store_ = Store::open(o);
    auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
    ASSERT_TRUE(loaded.ok());
    store_->import_definitions(*loaded.definitions, as_);
    add_target(sink_->url());
  }

  void add_target(const std::string& url) {
    TargetSpec t;
    t.name = "mail";
    t.kind = TargetKind::email;
    invite::EmailSettings s;
    s.smtp_url = url;
    s.from = {"School Nurse CoP", "cop@example.org"};
    t.settings = invite::to_json(s).dump();
    store_->add_target(t, as_);
  }

  void add_member(const std::string& id, const char* series, std::optional<std::string> zone = std::nullopt) {
    MemberSpec spec;
    spec.id = id;
    spec.name = "Member " + id;
    spec.email = id + "@example.org";
    spec.timezone = std::move(zone);
    store_->add_member(spec, as_);
    store_->subscribe(id, {Subscription::Kind::series, series}, as_);
  }

  remind::PassReport pass(const char* when) {
    clock_.set(at(when));
    return remind::run_once(*store_, clock_);
  }

  // The messages the sink received since the last call, as read_mail.py reads them.
  json new_messages() { return sink_->read_new(seen_); }

  static std::map<std::string, json> by_recipient(const json& messages) {
    std::map<std::string, json> out;
    for (const auto& m : messages) {
      EXPECT_TRUE(m["defects"].empty()) << m.dump();
      EXPECT_FALSE(m["eight_bit"].get<bool>());
      const std::string to = m["to"][0]["addr"];
      EXPECT_FALSE(out.contains(to)) << "two messages to " << to;
      out[to] = m;
    }
    return out;
  }

  static std::string subject(const json& m) { return m["headers"]["subject"][0]; }
  static std::string body(const json& m) { return m["parts"][0]["text"]; }

  TempDir dir_;
  std::string path_ = (dir_ / "convene.db").string();
  SimulatedClock clock_{at("2027-01-25T09:00:00Z")};
  ChangeContext as_{.actor = "ana"};
  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<Store> store_;
  std::size_t seen_ = 0;
};

TEST_F(Remind, SendsEachReminderOnceAtItsMinuteAndFollowsAMove) {
  add_member("rosa", "mentoring-monday");
  add_member("ben", "mentoring-monday", "Europe/London");

  auto r = pass("2027-01-30T12:00:00Z");
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.planned, 4u) << remind::report_text(r, false);  // P1D and PT15M of 1 February, each
  EXPECT_TRUE(new_messages().empty());

  // Sunday 21:00Z: the P1D reminders of Monday 16:00 EST, once however often a pass runs.
  r = pass("2027-01-31T21:00:00Z");
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(pass("2027-01-31T21:00:00Z").sent, 0u);
  auto got = by_recipient(new_messages());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(subject(got["rosa@example.org"]), "Tomorrow at 4:00 pm EST: Mentoring Monday");
  EXPECT_EQ(subject(got["ben@example.org"]), "Tomorrow at 9:00 pm GMT: Mentoring Monday");
  EXPECT_NE(body(got["rosa@example.org"]).find("Monday 1 February 2027, 4:00 pm EST to 5:00 pm EST"), std::string::npos)
      << body(got["rosa@example.org"]);
  EXPECT_NE(body(got["rosa@example.org"]).find("Join: https://meet.example.org/mm"), std::string::npos);
  EXPECT_NE(body(got["ben@example.org"]).find("(Europe/London)"), std::string::npos);
  const std::string key = "reminder/rosa/mentoring-monday/2027-02-01T16:00/P1D/20270201T2100Z";
  EXPECT_EQ(got["rosa@example.org"]["headers"]["message-id"][0],
            mail::message_id(key, "rosa@example.org", "example.org"));

  // Monday 10:00Z the session moves to Tuesday 17:00 EST: a notice at once, nothing at the
  // old time (20:45Z), the reminders of the new time at theirs.
  clock_.set(at("2027-02-01T10:00:00Z"));
  store_->reschedule("mentoring-monday", lt("2027-02-01T16:00"), lt("2027-02-02T17:00"), std::nullopt,
                     {.actor = "ana", .reason = "Presenter's request"});
  r = pass("2027-02-01T10:00:00Z");
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(r.withdrawn, 2u) << remind::report_text(r, false);
  got = by_recipient(new_messages());
  EXPECT_EQ(subject(got["rosa@example.org"]), "Mentoring Monday moved to Tuesday 2 February, 5:00 pm EST");
  EXPECT_NE(body(got["rosa@example.org"]).find("Why: Presenter's request"), std::string::npos) << body(got["rosa@example.org"]);
  EXPECT_EQ(pass("2027-02-01T20:45:00Z").sent, 0u);
  EXPECT_EQ(pass("2027-02-01T22:00:00Z").sent, 2u);
  got = by_recipient(new_messages());
  EXPECT_EQ(subject(got["rosa@example.org"]), "Tomorrow at 5:00 pm EST: Mentoring Monday");
  EXPECT_EQ(pass("2027-02-02T21:45:00Z").sent, 2u);
  got = by_recipient(new_messages());
  EXPECT_EQ(subject(got["rosa@example.org"]), "In 15 minutes: Mentoring Monday (5:00 pm EST)");

  // The outbox says what happened to each.
  std::map<std::string, std::string> states;
  for (const auto& m : store_->outbox({.member = std::string("rosa")})) states[m.key] = std::string(to_string(m.state));
  EXPECT_EQ(states["reminder/rosa/mentoring-monday/2027-02-01T16:00/PT15M/20270201T2100Z"], "withdrawn");
  EXPECT_EQ(states[key], "sent");
}

// The bug: a reminder was rendered once, when it was planned (up to eight days before it
// is due), and never again: a title or join link edited after that, or a member's new
// address or zone, did not reach it, and it went out with the old ones, dated the day it
// was planned.
TEST_F(Remind, WhatIsSentIsWhatTheStoreSaysWhenItIsSentNotWhenItWasPlanned) {
  add_member("rosa", "mentoring-monday");
  // As the worker runs its passes: planned messages are rendered again only after a change.
  std::optional<std::uint64_t> rendered_through;
  remind::PassOptions options;
  options.rendered_through = &rendered_through;
  const auto pass = [&](const char* when) {
    clock_.set(at(when));
    return remind::run_once(*store_, clock_, options);
  };
  auto r = pass("2027-01-30T12:00:00Z");
  ASSERT_TRUE(rendered_through.has_value());
  EXPECT_EQ(r.planned, 2u) << remind::report_text(r, false);
  EXPECT_EQ(pass("2027-01-30T12:05:00Z").rewritten, 0u);  // nothing changed: the same bytes

  clock_.set(at("2027-01-30T13:00:00Z"));
  OccurrenceEdit edit;
  edit.title = "Mentoring Monday: triage at the front desk";
  edit.join_url = "https://meet.example.org/mm-triage";
  store_->edit("mentoring-monday", lt("2027-02-01T16:00"), edit, as_);
  MemberUpdate moved;
  moved.email = "rosa.new@example.org";
  moved.timezone = std::optional<std::string>("America/Chicago");
  store_->update_member("rosa", moved, as_);
  r = pass("2027-01-30T13:00:00Z");
  EXPECT_EQ(r.planned, 0u) << remind::report_text(r, false);
  EXPECT_EQ(r.rewritten, 2u) << remind::report_text(r, false);
  EXPECT_EQ(pass("2027-01-30T13:05:00Z").rewritten, 0u);

  EXPECT_EQ(pass("2027-01-31T21:00:00Z").sent, 1u);
  const json got = new_messages();
  ASSERT_EQ(got.size(), 1u) << got.dump();
  EXPECT_EQ(got[0]["to"][0]["addr"], "rosa.new@example.org");
  EXPECT_EQ(subject(got[0]), "Tomorrow at 3:00 pm CST: Mentoring Monday: triage at the front desk");
  EXPECT_NE(body(got[0]).find("Join: https://meet.example.org/mm-triage"), std::string::npos) << body(got[0]);
  EXPECT_EQ(body(got[0]).find("https://meet.example.org/mm\n"), std::string::npos) << body(got[0]);
  EXPECT_EQ(got[0]["headers"]["date"][0], "Sun, 31 Jan 2027 21:00:00 +0000");  // dated when due

  // Sent is sent: a later edit rewrites only what is still planned (the PT15M one).
  clock_.set(at("2027-01-31T22:00:00Z"));
  edit.title = "Mentoring Monday: triage";
  store_->edit("mentoring-monday", lt("2027-02-01T16:00"), edit, as_);
  r = pass("2027-01-31T22:00:00Z");
  EXPECT_EQ(r.rewritten, 1u) << remind::report_text(r, false);
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(pass("2027-02-01T20:45:00Z").sent, 1u);
  const json last = new_messages();
  ASSERT_EQ(last.size(), 1u) << last.dump();
  EXPECT_EQ(subject(last[0]), "In 15 minutes: Mentoring Monday: triage (3:00 pm CST)");
}

TEST_F(Remind, ARefusedRecipientFailsAloneAndIsListed) {
  add_member("rosa", "power-hour");
  add_member("refused", "power-hour");
  pass("2027-02-03T19:00:00Z");
  const auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 1u);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(by_recipient(new_messages()).count("rosa@example.org"), 1u);
  const auto cli = run_cli({"reminders", "--failed", "--format", "json", "--db", path_});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto listed = json::parse(cli.out);
  ASSERT_EQ(listed.size(), 1u) << cli.out;
  EXPECT_EQ(listed[0]["member"], "refused");
  EXPECT_EQ(listed[0]["state"], "failed");
  EXPECT_NE(listed[0]["last_error"].get<std::string>().find("550"), std::string::npos) << cli.out;
}

TEST_F(Remind, ADownServerKeepsMessagesWaitingUntilTheSessionStarts) {
  store_->remove_target("mail", as_);
  const std::string url = sink_->url();
  sink_.reset();  // nothing listens there any more
  add_target(url);
  add_member("rosa", "power-hour");
  pass("2027-02-03T19:00:00Z");
  auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.deferred, 1u) << remind::report_text(r, false);
  std::vector<OutboxMessage> waiting;
  for (auto& m : store_->outbox({.states = {OutboxMessage::State::planned}}))
    if (m.due <= clock_.now()) waiting.push_back(std::move(m));  // not next week's
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_NE(waiting[0].last_error.find(url.substr(7)), std::string::npos) << waiting[0].last_error;
  // Power Hour started at 20:00Z: its reminder is dropped with a log line, not sent late.
  r = pass("2027-02-03T20:01:00Z");
  EXPECT_EQ(r.dropped, 1u) << remind::report_text(r, false);
  ASSERT_FALSE(r.log.empty());
  EXPECT_EQ(r.log.back(), "dropped reminder/rosa/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z: the session started at 2027-02-03T20:00:00Z");
  EXPECT_EQ(store_->outbox({.states = {OutboxMessage::State::withdrawn}}).size(), 1u);
}

// A member whose address is malformed (a store written before addresses were checked
// where they enter: the store refuses one now, so the test writes it with SQLite) is
// skipped with one log line and a failed row per message, listed by `reminders
// --failed` with the reason; the others get theirs; later passes add nothing twice.
TEST_F(Remind, AMalformedAddressFailsThatMemberAloneWithOneLogLine) {
  add_member("rosa", "power-hour");
  add_member("broken", "power-hour");
  const auto wrote = run_python(
      {"-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "c.execute(\"UPDATE members SET email = 'broken at example.org' WHERE id = 'broken'\"); c.commit()",
       path_});
  ASSERT_EQ(wrote.exit_code, 0) << wrote.err;
  auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 1u) << remind::report_text(r, false);
  EXPECT_EQ(r.failed, 2u) << "this week's and next week's Power Hour";
  EXPECT_EQ(r.planned, 2u) << "rosa's, this week's and next week's";
  const std::string line =
      "member broken: the address \"broken at example.org\" has no @: their messages fail (convene member set broken "
      "--email ...)";
  EXPECT_EQ(std::count(r.log.begin(), r.log.end(), line), 1) << ::testing::PrintToString(r.log);
  EXPECT_EQ(by_recipient(new_messages()).count("rosa@example.org"), 1u);
  r = pass("2027-02-03T19:46:00Z");
  EXPECT_EQ(r.failed, 0u) << "failed once, not again at every pass";
  EXPECT_TRUE(r.log.empty()) << ::testing::PrintToString(r.log);
  store_.reset();
  const auto cli = run_cli({"reminders", "--failed", "--format", "json", "--db", path_});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto listed = json::parse(cli.out);
  ASSERT_EQ(listed.size(), 2u) << cli.out;
  for (const auto& m : listed) {
    EXPECT_EQ(m["member"], "broken");
    EXPECT_EQ(m["attempts"], 0) << "never handed to a server";
    EXPECT_EQ(m["last_error"], "the address \"broken at example.org\" has no @") << cli.out;
  }
}

// A member removed while a pass is sending (another process, between the pass's read and
// its writes): what was already handed to the server goes, nothing after; their waiting
// messages are withdrawn at the next pass, and the others' are untouched.
std::function<void()>* g_on_sending = nullptr;
void on_sending_hook(std::string_view point) {
  if (point == "remind.sending" && g_on_sending) std::exchange(g_on_sending, nullptr)->operator()();
}

TEST_F(Remind, AMemberRemovedWhileBeingPlannedGetsNothingMore) {
  add_member("rosa", "power-hour");
  add_member("ben", "power-hour");
  StoreOptions o;
  o.path = path_;
  o.clock = &clock_;
  auto other = Store::open(o);  // the facilitators' connection
  std::function<void()> remove = [&] { other->remove_member("ben", as_); };
  g_on_sending = &remove;
  set_fault_hook(on_sending_hook);
  auto r = pass("2027-02-03T19:45:00Z");
  set_fault_hook(nullptr);
  EXPECT_EQ(g_on_sending, nullptr) << "removed during the pass";
  EXPECT_FALSE(store_->member("ben"));
  EXPECT_LE(r.sent, 2u);
  const auto waiting = [&](const std::string& member) {
    std::size_t n = 0;
    for (const auto& m : store_->outbox({.member = member, .states = {OutboxMessage::State::planned}})) n += m.due > clock_.now();
    return n;
  };
  EXPECT_EQ(waiting("ben"), 1u) << "planned in the same pass, from the read before the removal";
  r = pass("2027-02-03T19:46:00Z");
  EXPECT_EQ(waiting("ben"), 0u);
  EXPECT_EQ(waiting("rosa"), 1u);
  EXPECT_EQ(r.withdrawn, 1u) << remind::report_text(r, false);
  for (const auto& w : r.plan.withdrawals)
    EXPECT_EQ(w.reason, "the member was removed") << w.key;
  new_messages();
  r = pass("2027-02-10T19:45:00Z");
  const auto got = by_recipient(new_messages());
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count("rosa@example.org"), 1u);
}

// Issue 13, round 3: 10,000 reminders due at one instant went out over 27 s after it (the
// p99 lateness of N due at once is N / throughput). A burst that cannot be sent within
// kOnTime starts burst_lead before its time, in due order, so that it ends at about it.
TEST_F(Remind, ABurstLargerThanTheThroughputAllowsStartsEarlyByItsLead) {
  for (int i = 0; i < 300; ++i) add_member("m" + std::to_string(i), "power-hour");
  remind::Throughput throughput(100, false);  // 300 at 100 msg/s: 3 s
  EXPECT_EQ(remind::burst_lead(300, 100), std::chrono::seconds{3});
  EXPECT_EQ(remind::burst_lead(1000, 300), std::chrono::seconds{4});
  EXPECT_EQ(remind::burst_lead(260, 300), std::chrono::seconds{0}) << "within kOnTime";
  remind::PassOptions options;
  options.throughput = &throughput;
  const Instant due = at("2027-02-03T19:45:00Z");
  clock_.set(due - std::chrono::seconds{4});
  auto r = remind::run_once(*store_, clock_, options);
  EXPECT_GE(r.planned, 300u);
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.next_wake, due - std::chrono::seconds{3});
  clock_.set(due - std::chrono::seconds{3});
  r = remind::run_once(*store_, clock_, options);
  EXPECT_EQ(r.sent, 300u) << remind::report_text(r, false);
  EXPECT_EQ(r.early, 300u);
  EXPECT_EQ(r.late, 0u);
  EXPECT_EQ(by_recipient(new_messages()).size(), 300u);
  std::size_t sent = 0;
  for (const auto& m : store_->outbox()) {
    if (m.due != due) continue;
    EXPECT_EQ(m.state, OutboxMessage::State::sent) << m.key;
    EXPECT_EQ(m.updated, due - std::chrono::seconds{3}) << m.key;
    ++sent;
  }
  EXPECT_EQ(sent, 300u);
}

TEST_F(Remind, ABurstNeverStartsBeforeTheMaximumLead) {
  for (int i = 0; i < 300; ++i) add_member("m" + std::to_string(i), "power-hour");
  remind::Throughput throughput(2, false);  // 300 at 2 msg/s: 150 s, more than kMaxLead
  EXPECT_EQ(remind::burst_lead(300, 2), remind::kMaxLead);
  remind::PassOptions options;
  options.throughput = &throughput;
  const Instant due = at("2027-02-03T19:45:00Z");
  clock_.set(due - remind::kMaxLead - std::chrono::seconds{1});
  auto r = remind::run_once(*store_, clock_, options);
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.next_wake, due - remind::kMaxLead);
  clock_.set(due - remind::kMaxLead);
  r = remind::run_once(*store_, clock_, options);
  EXPECT_EQ(r.sent, 300u) << remind::report_text(r, false);
  EXPECT_EQ(r.early, 300u);
  EXPECT_EQ(new_messages().size(), 300u);
}

TEST_F(Remind, ASmallGroupIsSentAtItsMinuteNotEarly) {
  for (int i = 0; i < 20; ++i) add_member("m" + std::to_string(i), "power-hour");
  remind::Throughput throughput(1, false);  // 20 s for 20, but a small group: at its minute
  EXPECT_EQ(remind::burst_lead(20, 1), std::chrono::seconds{0});
  EXPECT_EQ(remind::burst_lead(remind::kSmallBurst, 1), std::chrono::seconds{0});
  remind::PassOptions options;
  options.throughput = &throughput;
  const Instant due = at("2027-02-03T19:45:00Z");
  clock_.set(due - std::chrono::seconds{1});
  auto r = remind::run_once(*store_, clock_, options);
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.next_wake, due);
  clock_.set(due);
  r = remind::run_once(*store_, clock_, options);
  EXPECT_EQ(r.sent, 20u);
  EXPECT_EQ(r.early, 0u);
  EXPECT_EQ(new_messages().size(), 20u);
}

// A session cancelled while its burst is going out ahead of its time (inside the lead):
// the pass stops at the next batch, and the next one, planned again, withdraws the rest
// and tells everyone; no reminder for the cancelled session goes after the change.
TEST_F(Remind, ACancellationInsideTheLeadWindowWithdrawsWhatIsNotYetSent) {
  for (int i = 0; i < 300; ++i) add_member("m" + std::to_string(i), "power-hour");
  remind::Throughput throughput(100, false);
  remind::PassOptions options;
  options.throughput = &throughput;
  const Instant due = at("2027-02-03T19:45:00Z");
  clock_.set(due - std::chrono::seconds{4});
  remind::run_once(*store_, clock_, options);
  int asked = 0;
  options.may_continue = [&] {
    if (++asked == 2) store_->cancel("power-hour", lt("2027-02-03T15:00"), as_);  // after the first batch
    return true;
  };
  clock_.set(due - std::chrono::seconds{3});
  auto r = remind::run_once(*store_, clock_, options);
  EXPECT_EQ(r.sent, remind::kSendBatch) << remind::report_text(r, false);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.next_wake, due - std::chrono::seconds{3}) << "at once, planned again";
  options.may_continue = nullptr;
  r = remind::run_once(*store_, clock_, options);
  EXPECT_GE(r.withdrawn, 300u - remind::kSendBatch) << remind::report_text(r, false);
  EXPECT_EQ(r.sent, 300u) << "the cancellation notices";
  std::size_t reminders = 0, notices = 0;
  for (const auto& m : new_messages()) {
    const std::string s = subject(m);
    if (s.rfind("In 15 minutes: Power Hour", 0) == 0) ++reminders;
    else if (s.rfind("Cancelled: Power Hour", 0) == 0) ++notices;
    else ADD_FAILURE() << s;
  }
  EXPECT_EQ(reminders, remind::kSendBatch);
  EXPECT_EQ(notices, 300u);
  std::size_t sent = 0, withdrawn = 0;
  for (const auto& m : store_->outbox()) {
    if (m.kind != "reminder" || m.due != due) continue;
    sent += m.state == OutboxMessage::State::sent;
    withdrawn += m.state == OutboxMessage::State::withdrawn;
  }
  EXPECT_EQ(sent, remind::kSendBatch);
  EXPECT_EQ(withdrawn, 300u - remind::kSendBatch);
  EXPECT_EQ(remind::run_once(*store_, clock_, options).sent, 0u);
}

TEST_F(Remind, TheCliRehearsesThenRunsOnePassAtConveneNow) {
  add_member("rosa", "power-hour");
  store_.reset();
  const std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-02-03T19:45:00Z"}};
  auto dry = run_cli({"remind", "--once", "--dry-run", "--db", path_}, "", env);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("reminder/rosa/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z"), std::string::npos) << dry.out;
  EXPECT_EQ(sink_->messages().size(), 0u);
  auto listed = run_cli({"reminders", "--format", "json", "--db", path_}, "", env);
  EXPECT_EQ(json::parse(listed.out).size(), 0u) << "a rehearsal writes nothing";
  auto once = run_cli({"remind", "--once", "--format", "json", "--db", path_}, "", env);
  ASSERT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(json::parse(once.out)["sent"], 1) << once.out;
  EXPECT_EQ(sink_->messages().size(), 1u);
  listed = run_cli({"reminders", "--member", "rosa", "--db", path_}, "", env);
  EXPECT_NE(listed.out.find("sent  reminder  rosa  power-hour 2027-02-03T15:00  attempts 1"), std::string::npos)
      << listed.out;
}

}  // namespace
}  // namespace convene
