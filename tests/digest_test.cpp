// The weekly digest (convene/reminder_plan.h plans it, convene/views.h words it,
// convene/remind.h sends it): planned at each member's chosen weekday and local time in
// their zone, DST-exact; opt-in; listing the coming week and what changed since the last
// one; once per week however many passes run; withdrawn when turned off. At the planner
// level on a real store with a simulated clock, then through `convene remind --once`
// (CONVENE_NOW) to a real SMTP server (python3-aiosmtpd on loopback).
#include "convene/reminder_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convene/invite.h"
#include "convene/remind.h"
#include "convene/store.h"
#include "convene/views.h"
#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

using namespace convene::testing;
using namespace std::chrono_literals;
using nlohmann::json;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }
std::string utc(Instant t) { return date::format("%FT%TZ", t); }

const Subscription kNurses{Subscription::Kind::community, "nurses"};

class DigestPlan : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.path = (dir_ / "convene.db").string();
    o.clock = &clock_;
    store_ = Store::open(o);
    auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
    ASSERT_TRUE(loaded.ok());
    store_->import_definitions(*loaded.definitions, as_);
  }

  void add(const std::string& id, std::optional<std::string> digest, std::optional<std::string> zone = std::nullopt,
           Subscription to = kNurses) {
    MemberSpec spec;
    spec.id = id;
    spec.email = id + "@example.org";
    spec.timezone = std::move(zone);
    if (digest) spec.digest = parse_digest_time(*digest);
    store_->add_member(spec, as_);
    store_->subscribe(id, to, as_);
  }

  // The plan at the clock's now, with `pending` waiting in the outbox (as a pass reads it).
  ReminderPlan plan(std::vector<PendingMessage> pending = {}) {
    snapshot_ = std::make_unique<StoreSnapshot>(store_->snapshot());
    ReminderPlanInput in = remind::plan_input(*store_, *snapshot_, clock_.now());
    in.pending = std::move(pending);
    return plan_reminders(in);
  }

  static std::vector<PlannedMessage> digests(const ReminderPlan& p) {
    std::vector<PlannedMessage> out;
    for (const auto& m : p.messages)
      if (m.kind == MessageKind::digest) out.push_back(m);
    return out;
  }

  // Runs the planner from the clock's now to `end`, waking where it says (as the worker
  // does): each digest key with the due time it was first planned at.
  std::map<std::string, Instant> digests_until(Instant end) {
    std::map<std::string, Instant> out;
    while (clock_.now() < end) {
      const auto p = plan();
      for (const auto& m : digests(p)) {
        EXPECT_LE(m.due, clock_.now()) << m.key << " planned before it is due";
        out.emplace(m.key, m.due);
      }
      if (!p.next_wake) break;
      clock_.set(*p.next_wake);
    }
    return out;
  }

  // The words of a planned digest, from the sessions as the store holds them now.
  views::MessageText words(const PlannedMessage& m) {
    const auto& defs = *snapshot_->definitions.definitions;
    sessions_ = expand(defs, {date::floor<date::days>(m.occurrence) - date::days{3}, date::floor<date::days>(m.occurrence) + date::days{10}});
    return views::digest_text(m, [this](const std::string& series, LocalTime o) -> const Occurrence* {
      for (const auto& s : sessions_)
        if (s.series->id == series && s.original == o) return &s;
      return nullptr;
    });
  }

  TempDir dir_;
  SimulatedClock clock_{at("2027-01-20T09:00:00Z")};
  ChangeContext as_{.actor = "ana"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreSnapshot> snapshot_;
  std::vector<Occurrence> sessions_;
};

TEST(DigestTime, ParsesAWeekdayAndALocalTimeAndRefusesTheRest) {
  const auto d = parse_digest_time("MO 07:00");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->day, date::Monday);
  EXPECT_EQ(d->time_of_day, 7h);
  EXPECT_EQ(format_digest_time(*parse_digest_time("su 23:59")), "SU 23:59");
  for (const char* bad : {"", "MO", "MO 7:00", "MO 24:00", "MO 07:60", "XX 07:00", "MO  07:00", "Monday 07:00", "MO 07:00 "})
    EXPECT_FALSE(parse_digest_time(bad)) << bad;
}

// New York springs forward on Sunday 14 March 2027 (02:00 EST -> 03:00 EDT), London on
// 28 March. A Monday 07:00 digest comes at 12:00Z, then 11:00Z; a Sunday 02:30 one, a
// time that does not exist on the 14th, at 07:30Z (03:30 EDT: the engine's rule, the
// offset before the gap) that day and 06:30Z the next week; London's Monday 07:00 stays
// 07:00Z until its own change. A member with no zone has their community's.
TEST_F(DigestPlan, ComesAtTheMembersLocalTimeThroughADstWeek) {
  clock_.set(at("2027-03-01T00:00:00Z"));
  add("rosa", "MO 07:00", "America/New_York");
  add("sam", "SU 02:30");  // no zone of their own: the community's, New York
  add("ben", "MO 07:00", "Europe/London");
  const auto got = digests_until(at("2027-04-06T00:00:00Z"));
  const std::map<std::string, Instant> want{
      {"digest/rosa/2027-W09", at("2027-03-01T12:00:00Z")}, {"digest/rosa/2027-W10", at("2027-03-08T12:00:00Z")}, {"digest/rosa/2027-W11", at("2027-03-15T11:00:00Z")},
      {"digest/rosa/2027-W12", at("2027-03-22T11:00:00Z")}, {"digest/rosa/2027-W13", at("2027-03-29T11:00:00Z")},
      {"digest/rosa/2027-W14", at("2027-04-05T11:00:00Z")},
      {"digest/sam/2027-W09", at("2027-03-07T07:30:00Z")},  {"digest/sam/2027-W10", at("2027-03-14T07:30:00Z")},
      {"digest/sam/2027-W11", at("2027-03-21T06:30:00Z")},  {"digest/sam/2027-W12", at("2027-03-28T06:30:00Z")},
      {"digest/sam/2027-W13", at("2027-04-04T06:30:00Z")},
      {"digest/ben/2027-W09", at("2027-03-01T07:00:00Z")},  {"digest/ben/2027-W10", at("2027-03-08T07:00:00Z")},  {"digest/ben/2027-W11", at("2027-03-15T07:00:00Z")},
      {"digest/ben/2027-W12", at("2027-03-22T07:00:00Z")},  {"digest/ben/2027-W13", at("2027-03-29T06:00:00Z")},
      {"digest/ben/2027-W14", at("2027-04-05T06:00:00Z")},
  };
  EXPECT_EQ(got, want) << ::testing::PrintToString(got);
}

// Opt-in: a member without a digest never gets one; nor does a member who follows
// nothing, or one who joined after this week's time (the next week's comes).
TEST_F(DigestPlan, OnlyForMembersWhoAskedForIt) {
  clock_.set(at("2027-02-01T11:00:00Z"));
  add("rosa", "MO 07:00");
  add("ben", std::nullopt);
  MemberSpec lone;
  lone.id = "lone";
  lone.email = "lone@example.org";
  lone.digest = parse_digest_time("MO 07:00");
  store_->add_member(lone, as_);
  clock_.set(at("2027-02-01T12:30:00Z"));
  add("late", "MO 07:00");  // joined at 07:30, after this week's 07:00
  const auto got = digests_until(at("2027-02-09T00:00:00Z"));
  const std::map<std::string, Instant> want{{"digest/rosa/2027-W05", at("2027-02-01T12:00:00Z")},
                                            {"digest/rosa/2027-W06", at("2027-02-08T12:00:00Z")},
                                            {"digest/late/2027-W06", at("2027-02-08T12:00:00Z")}};
  EXPECT_EQ(got, want) << ::testing::PrintToString(got);
}

// The week's sessions in the member's zone with the join link or location, a moved one
// with where it came from, a cancelled and a closed one marked; what changed since the
// last digest (not before it) with the facilitators' reasons, in the order made.
TEST_F(DigestPlan, ListsTheWeekAndWhatChangedSinceTheLastOne) {
  add("rosa", "MO 07:00", "America/Chicago");
  clock_.set(at("2027-01-24T15:00:00Z"));  // before the previous digest (25 January 13:00Z): not listed
  store_->reschedule("power-hour", lt("2027-01-27T15:00"), lt("2027-01-28T15:00"), std::nullopt,
                     {.actor = "ana", .reason = "Old news"});
  clock_.set(at("2027-01-27T15:00:00Z"));
  store_->reschedule("mentoring-monday", lt("2027-02-01T16:00"), lt("2027-02-02T17:00"), std::nullopt,
                     {.actor = "ana", .reason = "Presenter's request"});
  clock_.set(at("2027-01-28T15:00:00Z"));
  store_->cancel("power-hour", lt("2027-02-03T15:00"), {.actor = "ana", .reason = "Budget meeting"});
  clock_.set(at("2027-01-29T15:00:00Z"));
  store_->close("district", {"Snow day", LocalDay{date::year{2027} / 2 / 4}, LocalDay{date::year{2027} / 2 / 4}}, as_);
  clock_.set(at("2027-02-01T13:00:00Z"));  // Monday 07:00 in Chicago
  const auto p = plan();
  const auto ds = digests(p);
  ASSERT_EQ(ds.size(), 1u);
  const auto& d = ds[0];
  EXPECT_EQ(d.key, "digest/rosa/2027-W05");
  EXPECT_EQ(d.due, at("2027-02-01T13:00:00Z"));
  EXPECT_EQ(d.session_start, d.due + kDigestCatchUp) << "dropped after this";
  ASSERT_EQ(d.changes.size(), 3u);
  EXPECT_EQ(d.changes[0].action, "reschedule");
  EXPECT_EQ(d.changes[0].reason, "Presenter's request");
  EXPECT_EQ(d.changes[1].session.kind, NoticeKind::cancelled);
  EXPECT_EQ(d.changes[2].session.kind, NoticeKind::closed);
  EXPECT_EQ(d.changes[2].session.why, "Snow day (district): skipped");
  // Monday 1 to Sunday 7 February: 5 huddles (one closed), the moved mentoring, the
  // cancelled Power Hour.
  ASSERT_EQ(d.upcoming.size(), 7u) << ::testing::PrintToString(d.upcoming.size());
  EXPECT_EQ(d.upcoming.front().series, "daily-huddle");
  EXPECT_EQ(d.upcoming.front().occurrence, lt("2027-02-01T08:30"));

  const auto w = words(d);
  EXPECT_EQ(w.subject, "Your week from Monday 1 February: 5 sessions");
  const std::string& t = w.text;
  for (const char* line : {
           "Your sessions from Monday 1 February to Sunday 7 February 2027, in America/Chicago:\n",
           "Monday 1 February, 7:30 am CST: Daily Huddle\n  Join: https://meet.example.org/huddle\n",
           "Tuesday 2 February, 4:00 pm CST: Mentoring Monday: Presenter's request (from Mon 2027-02-01 15:00)\n"
           "  Join: https://meet.example.org/mm\n",
           "Wednesday 3 February, 2:00 pm CST: Power Hour: cancelled\n",
           "Thursday 4 February, 7:30 am CST: Daily Huddle: does not take place (Snow day (district): skipped)\n",
           "What changed since your last digest:\n"
           "  - Mentoring Monday moved from Monday 1 February, 3:00 pm CST to Tuesday 2 February, 4:00 pm CST. "
           "Why: Presenter's request\n"
           "  - Power Hour cancelled: Wednesday 3 February, 2:00 pm CST. Why: Budget meeting\n"
           "  - Daily Huddle does not take place: Thursday 4 February, 7:30 am CST (Snow day (district): skipped)\n",
           "You get this digest every Monday at 7:00 am (America/Chicago).\n"})
    EXPECT_NE(t.find(line), std::string::npos) << "missing:\n" << line << "\nin:\n" << t;
  EXPECT_EQ(t.find("Old news"), std::string::npos) << t;
}

// However many passes run in the digest's catch-up time, one key; the next week's is
// another; a pass after the catch-up time plans none (and drops a waiting one, logged).
TEST_F(DigestPlan, OneKeyPerWeekOverManyPasses) {
  add("rosa", "MO 07:00");
  MemberUpdate digest_only;  // no reminders: the next wake is the next digest's
  digest_only.reminder_channel = "none";
  store_->update_member("rosa", digest_only, as_);
  clock_.set(at("2027-02-01T12:00:00Z"));
  const auto first = digests(plan());
  clock_.set(at("2027-02-01T12:00:00Z"));
  const auto again = digests(plan());
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(first[0], again[0]);
  clock_.set(at("2027-02-01T17:59:00Z"));
  const auto later = digests(plan());
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].key, first[0].key);
  const PendingMessage waiting{first[0].key, MessageKind::digest, "rosa", "", first[0].occurrence,
                               first[0].session_start};
  clock_.set(at("2027-02-01T18:00:00Z"));
  const auto past = plan({waiting});
  EXPECT_TRUE(digests(past).empty());
  ASSERT_EQ(past.withdrawals.size(), 1u);
  EXPECT_EQ(past.withdrawals[0].key, "digest/rosa/2027-W05");
  ASSERT_EQ(past.log.size(), 1u);
  EXPECT_EQ(past.log[0].rfind("dropped digest/rosa/2027-W05: more than PT6H late", 0), 0u) << past.log[0];
  EXPECT_EQ(past.next_wake, at("2027-02-08T12:00:00Z"));
}

// A digest waiting (the server was down) is withdrawn when the member turns it off, or
// leaves; moving it to another day withdraws it too, and the week's key stays the same.
TEST_F(DigestPlan, WithdrawnWhenTurnedOff) {
  add("rosa", "MO 07:00");
  add("ben", "MO 07:00");
  clock_.set(at("2027-02-01T12:05:00Z"));
  const auto p = digests(plan());
  ASSERT_EQ(p.size(), 2u);
  std::vector<PendingMessage> waiting;
  for (const auto& m : p) waiting.push_back({m.key, m.kind, m.member, "", m.occurrence, m.session_start});
  MemberUpdate off;
  off.digest = std::optional<DigestTime>{};
  store_->update_member("rosa", off, as_);
  store_->remove_member("ben", as_);
  const auto after = plan(waiting);
  EXPECT_TRUE(digests(after).empty());
  std::map<std::string, std::string> why;
  for (const auto& w : after.withdrawals) why[w.key] = w.reason;
  EXPECT_EQ(why["digest/rosa/2027-W05"], "the member turned the digest off");
  EXPECT_EQ(why["digest/ben/2027-W05"], "the member was removed");
  EXPECT_TRUE(after.log.empty()) << "withdrawn, not dropped late";
}

// --- through `convene remind --once` to a real SMTP server --------------------------------

class DigestMail : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    sink_ = SmtpSink::start(dir_ / "sink", {}, error);
    ASSERT_TRUE(sink_) << error;
    StoreOptions o;
    o.path = path_;
    o.clock = &clock_;
    auto store = Store::open(o);
    auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
    ASSERT_TRUE(loaded.ok());
    store->import_definitions(*loaded.definitions, as_);
    TargetSpec t;
    t.name = "mail";
    t.kind = TargetKind::email;
    invite::EmailSettings s;
    s.smtp_url = sink_->url();
    s.from = {"School Nurse CoP", "cop@example.org"};
    t.settings = invite::to_json(s).dump();
    store->add_target(t, as_);
  }

  RunResult cli(std::vector<std::string> args, const char* now) const {
    args.insert(args.end(), {"--db", path_, "--as", "ana"});
    return run_cli(args, "", {{"CONVENE_NOW", now}, {"CONVENE_DB", ""}});
  }

  TempDir dir_;
  std::string path_ = (dir_ / "convene.db").string();
  SimulatedClock clock_{at("2027-01-20T09:00:00Z")};
  ChangeContext as_{.actor = "ana"};
  std::unique_ptr<SmtpSink> sink_;
};

// Set with `member add --digest`, shown by `member show`, sent by `remind --once` at its
// minute (not before, not twice), with a text and an HTML part and the one-click
// unsubscribe headers; `member set --digest none` stops the next; a bad value is refused
// with one message naming the flag.
TEST_F(DigestMail, SetByTheCliSentOnceByRemindOnce) {
  ASSERT_EQ(cli({"member", "add", "rosa", "--email", "rosa@example.org", "--name", "Rosa Díaz", "--digest", "mo 07:00",
                 "--channel", "none"},
                "2027-01-20T09:00:00Z")
                .exit_code,
            0);
  ASSERT_EQ(cli({"subscribe", "rosa", "community:nurses"}, "2027-01-20T09:00:00Z").exit_code, 0);
  const auto shown = cli({"member", "show", "rosa", "--format", "json"}, "2027-01-20T09:00:00Z");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out)["digest"], "MO 07:00");
  EXPECT_NE(cli({"member", "show", "rosa"}, "2027-01-20T09:00:00Z").out.find("weekly digest: MO 07:00"), std::string::npos);
  const auto bad = cli({"member", "set", "rosa", "--digest", "Monday 7am"}, "2027-01-20T09:00:00Z");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(bad.err, "convene: error: --digest \"Monday 7am\" is not a weekday and a local time: write it as MO 07:00 "
                     "(MO TU WE TH FR SA SU, 24-hour HH:MM), or none\n");

  std::size_t seen = 0;
  auto once = [&](const char* now) {
    auto r = run_cli({"remind", "--once", "--db", path_}, "",
                     {{"CONVENE_NOW", now}, {"CONVENE_DB", ""}, {"CONVENE_BASE_URL", "https://cop.example.org"}});
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    return sink_->read_new(seen);
  };
  EXPECT_TRUE(once("2027-02-01T11:59:00Z").empty()) << "not before its minute";
  const auto got = once("2027-02-01T12:00:00Z");
  ASSERT_EQ(got.size(), 1u) << got.dump();
  EXPECT_TRUE(once("2027-02-01T12:01:00Z").empty()) << "not twice";
  const auto& m = got[0];
  EXPECT_TRUE(m["defects"].empty()) << m.dump();
  EXPECT_EQ(m["headers"]["subject"][0], "Your week from Monday 1 February: 7 sessions");
  EXPECT_EQ(m["to"][0]["addr"], "rosa@example.org");
  ASSERT_EQ(m["parts"].size(), 2u) << m.dump();
  EXPECT_EQ(m["parts"][0]["type"], "text/plain");
  EXPECT_EQ(m["parts"][1]["type"], "text/html");
  const std::string text = m["parts"][0]["text"];
  EXPECT_NE(text.find("Monday 1 February, 4:00 pm EST: Mentoring Monday\n  Join: https://meet.example.org/mm\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Nothing changed since your last digest."), std::string::npos) << text;
  EXPECT_NE(std::string(m["parts"][1]["text"]).find("<a href=\"https://meet.example.org/mm\">"), std::string::npos);
  std::string unsubscribe = m["headers"]["list-unsubscribe"][0];
  unsubscribe.erase(0, unsubscribe.find_first_not_of(' '));  // a long field is folded (RFC 5322 2.2.3)
  EXPECT_EQ(unsubscribe.rfind("<https://cop.example.org/unsubscribe/rosa.", 0), 0u) << m.dump();
  EXPECT_EQ(m["headers"]["list-unsubscribe-post"][0], "List-Unsubscribe=One-Click");

  const auto listed = cli({"reminders", "--member", "rosa", "--format", "json"}, "2027-02-01T12:01:00Z");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto rows = json::parse(listed.out);
  ASSERT_EQ(rows.size(), 1u) << listed.out;
  EXPECT_EQ(rows[0]["key"], "digest/rosa/2027-W05");
  EXPECT_EQ(rows[0]["state"], "sent");

  ASSERT_EQ(cli({"member", "set", "rosa", "--digest", "none"}, "2027-02-02T09:00:00Z").exit_code, 0);
  EXPECT_TRUE(once("2027-02-08T12:00:00Z").empty()) << "turned off";
}

}  // namespace
}  // namespace convene
