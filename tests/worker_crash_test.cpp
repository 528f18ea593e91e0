// The reminder worker's pass (`convene remind --once`, each wake of `convene worker`)
// killed with SIGKILL at random points under load, through a week of changes, and run
// again: every reminder and notice an uninterrupted worker sends arrives, none is lost,
// and a message arrives twice only from the window SMTP cannot close (the server's 250
// before the outbox's commit of "sent"), with the same Message-ID and the same bytes.
//
// Two stores go through the same week (a reschedule, a cancellation, a snow-day closure,
// a split, a member removed). At each step the reference store runs one pass; the other
// runs under `convene-testing` with CONVENE_TEST_CRASH_AFTER=N, N drawn from the fault
// points an uninterrupted pass of that step passes (its CONVENE_TEST_STEPS_FILE), then
// once more to the end. A killed pass leaves its lease, so each run after a kill is a
// lease later (kLeaseTtl) on the clock, as a restarted worker would be.
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "convene/remind.h"
#include "servers.h"
#include "test_support.h"

using namespace convene::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kKills = 100;
constexpr int kMembers = 40;

std::string message_id_of(const std::string& eml) {
  const auto at = eml.find("\r\nMessage-ID: ");
  if (at == std::string::npos) return {};
  const auto end = eml.find("\r\n", at + 2);
  return eml.substr(at + 14, end - at - 14);
}

convene::Instant instant(const std::string& text) {
  std::istringstream in(text);
  convene::Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
std::string text_of(convene::Instant t) { return date::format("%FT%TZ", t); }

struct Side {
  fs::path db;
  std::unique_ptr<SmtpSink> sink;

  RunResult cli(std::vector<std::string> args, const std::string& now, std::map<std::string, std::string> env = {},
                bool testing = false) const {
    args.insert(args.begin(), {"--db", db.string(), "--as", "ana"});
    env["CONVENE_NOW"] = now;
    env["CONVENE_DB"] = "";
    return testing ? run_cli_testing(args, "", env) : run_cli(args, "", env);
  }

  // Message-ID -> how many times; the bytes of each in `bytes`.
  std::map<std::string, int> received(std::map<std::string, std::string>* bytes = nullptr) const {
    std::map<std::string, int> out;
    for (const auto& eml : sink->messages()) {
      const std::string data = read_file(eml);
      const std::string id = message_id_of(data);
      ++out[id];
      if (bytes) {
        auto [it, fresh] = bytes->emplace(id, data);
        EXPECT_TRUE(fresh || it->second == data) << "a duplicate is the same message, byte for byte";
      }
    }
    return out;
  }
};

class WorkerCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    for (auto* side : {&reference_, &crashing_}) {
      const std::string name = side == &reference_ ? "reference" : "crashing";
      side->db = dir_ / (name + ".db");
      const std::string t0 = "2027-01-31T12:00:00Z";
      ASSERT_EQ(side->cli({"import", (source_dir() / "tests/data/remind/week.json").string()}, t0).exit_code, 0);
      for (int i = 0; i < kMembers; ++i) {
        const std::string id = "m" + std::to_string(100 + i);
        ASSERT_EQ(side->cli({"member", "add", id, "--email", id + "@example.org"}, t0).exit_code, 0);
        ASSERT_EQ(side->cli({"subscribe", id, i % 2 ? "community:nurses" : "series:daily-huddle"}, t0).exit_code, 0);
      }
      side->sink = SmtpSink::start(dir_ / (name + "-sink"), {}, error);
      ASSERT_TRUE(side->sink) << error;
      const auto added = side->cli({"target", "add", "mail", "--kind", "email", "--smtp-url", side->sink->url(), "--from",
                                    "CoP <cop@example.org>", "--max-connections", "1", "--all"},
                                   t0);
      ASSERT_EQ(added.exit_code, 0) << added.err;
    }
  }

  // One pass at `now` on both sides, the crashing one killed `kills` times first; returns
  // the instant the crashing side finished at.
  convene::Instant step(convene::Instant now, int kills) {
    const fs::path steps = dir_ / "steps";
    const auto ref = reference_.cli({"remind", "--once"}, text_of(now), {{"CONVENE_TEST_STEPS_FILE", steps.string()}}, true);
    EXPECT_EQ(ref.exit_code, 0) << ref.out << ref.err;
    const long points = std::stol(read_file(steps));
    EXPECT_GT(points, 0);
    std::uniform_int_distribution<long> at(1, points);
    // Until `kills` runs were in fact killed (a draw past a shorter run's end finishes it).
    for (int k = 0, tries = 0; k < kills && tries < 3 * kills; ++tries) {
      const long n = at(rng_);
      const auto r = crashing_.cli({"remind", "--once"}, text_of(now), {{"CONVENE_TEST_CRASH_AFTER", std::to_string(n)}}, true);
      // Killed (137), or it finished first (a later run passes fewer points).
      EXPECT_TRUE(r.exit_code == 128 + SIGKILL || r.exit_code == 0) << n << ": " << r.exit_code << r.err;
      if (r.exit_code == 128 + SIGKILL) {
        ++k;
        ++crashed_;
        now += convene::remind::kLeaseTtl;  // restarted once the lease it left expired
      }
    }
    const auto last = crashing_.cli({"remind", "--once"}, text_of(now), {}, true);
    EXPECT_EQ(last.exit_code, 0) << last.out << last.err;
    return now;
  }

  TempDir dir_;
  Side reference_, crashing_;
  std::mt19937 rng_{20270201};
  int crashed_ = 0;
};

}  // namespace

TEST_F(WorkerCrash, KilledAtOneHundredRandomPointsLosesNothing) {
  // The week's due times (P1D and PT15M of Mentoring Monday and Power Hour, PT10M of the
  // huddles) and the changes between them, each made on both sides at its time.
  struct Step {
    const char* at;
    std::vector<std::string> change;
  };
  const std::vector<Step> steps = {
      {"2027-01-31T21:00:00Z", {}},  // Mentoring Monday's P1D
      {"2027-02-01T10:00:00Z", {"reschedule", "mentoring-monday", "2027-02-01", "--to", "2027-02-02T17:00", "--reason", "Presenter's request"}},
      {"2027-02-01T13:20:00Z", {}},  // Monday's huddle
      {"2027-02-01T22:00:00Z", {}},  // the moved session's P1D
      {"2027-02-02T12:00:00Z", {"cancel", "power-hour", "2027-02-03", "--reason", "Facilitator out sick"}},
      {"2027-02-02T13:20:00Z", {}},
      {"2027-02-02T21:45:00Z", {}},  // the moved session's PT15M
      {"2027-02-03T11:00:00Z", {"close", "district", "2027-02-04", "--name", "Snow day"}},
      {"2027-02-03T12:00:00Z", {"member", "remove", "m101"}},
      {"2027-02-03T13:20:00Z", {}},
      {"2027-02-04T12:00:00Z", {"split", "daily-huddle", "--from", "2027-02-05", "--start", "09:00"}},
      {"2027-02-05T13:50:00Z", {}},  // the split's first huddle at 09:00 EST
  };
  const int per_step = (kKills + int(steps.size()) - 1) / int(steps.size());
  for (const auto& s : steps) {
    SCOPED_TRACE(s.at);
    convene::Instant now = instant(s.at);
    if (!s.change.empty()) {
      for (auto* side : {&reference_, &crashing_}) {
        const auto r = side->cli(s.change, s.at);
        ASSERT_EQ(r.exit_code, 0) << r.err;
      }
    }
    step(now, per_step);
    if (HasFatalFailure()) return;
  }
  // A last pass at the end of the week on both: whatever a later run caught up is there.
  for (auto* side : {&reference_, &crashing_}) ASSERT_EQ(side->cli({"remind", "--once"}, "2027-02-06T12:00:00Z").exit_code, 0);

  std::map<std::string, std::string> bytes;
  const auto want = reference_.received();
  const auto got = crashing_.received(&bytes);
  std::set<std::string> want_ids, got_ids;
  for (const auto& [id, n] : want) {
    EXPECT_EQ(n, 1) << "the reference sends each once";
    want_ids.insert(id);
  }
  int duplicates = 0;
  for (const auto& [id, n] : got) {
    got_ids.insert(id);
    duplicates += n - 1;
  }
  EXPECT_EQ(got_ids, want_ids) << "nothing lost, nothing else";
  EXPECT_GT(want_ids.size(), 300u) << "under load";
  EXPECT_GE(crashed_, kKills) << "killed at a hundred points";
  // At most one message in flight per kill (--max-connections 1): its 250 came, its
  // commit did not.
  EXPECT_LE(duplicates, crashed_);
  RecordProperty("kills", crashed_);
  RecordProperty("duplicates_in_the_250_window", duplicates);
  std::cout << crashed_ << " kills, " << want_ids.size() << " messages, " << duplicates
            << " duplicate(s) (250-to-commit window)\n";
}

// Killed at each kind of point once, in the middle of a batch: only a kill between the
// 250 and the commit ("remind.sent") sends a message twice.
TEST_F(WorkerCrash, OnlyTheWindowAfterTheServersAcceptanceSendsTwice) {
  ASSERT_EQ(crashing_.cli({"remind", "--once"}, "2027-01-31T12:00:00Z").exit_code, 0);
  // One weekday each: its huddle's PT10M reminders are due at 13:20Z for half the members.
  const std::vector<const char*> points = {"remind.sending:5", "store.step:200", "sqlite.write:20", "remind.sent:5",
                                           "remind.sent:12"};
  std::map<std::string, int> duplicates;
  int before = 0;
  for (std::size_t day = 0; day < points.size(); ++day) {
    SCOPED_TRACE(points[day]);
    const convene::Instant due = instant("2027-02-01T13:20:00Z") + std::chrono::days{day};
    const auto r = crashing_.cli({"remind", "--once"}, text_of(due), {{"CONVENE_TEST_CRASH_AT", points[day]}}, true);
    ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
    const auto done = crashing_.cli({"remind", "--once"}, text_of(due + convene::remind::kLeaseTtl), {}, true);
    ASSERT_EQ(done.exit_code, 0) << done.err;
    int total = 0;
    for (const auto& [id, n] : crashing_.received()) total += n - 1;
    duplicates[points[day]] = total - before;
    before = total;
  }
  EXPECT_EQ(duplicates["remind.sending:5"], 0);
  EXPECT_EQ(duplicates["store.step:200"], 0);
  EXPECT_EQ(duplicates["sqlite.write:20"], 0);
  EXPECT_EQ(duplicates["remind.sent:5"], 1);
  EXPECT_EQ(duplicates["remind.sent:12"], 1);
}
