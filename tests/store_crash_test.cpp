// kill -9 of an import or an operation at random points leaves the store as it was
// before or after the change, never between, and PRAGMA integrity_check passes.
//
// The test build of the CLI, convene-testing, kills itself with SIGKILL at its N-th storage
// step when CONVENE_TEST_CRASH_AFTER=N (a step is a fault point of convene/fault_points.h:
// a statement step, or a write, sync, truncate or delete of a database, journal or WAL
// file, through its VFS shim: crashes land inside SQLite's commit too). N is drawn
// from a seeded generator over the steps a whole run takes, so every trial is a real
// SIGKILL at a reproducible point.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <random>
#include <sstream>

#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;

const std::map<std::string, std::string> kEnv{{"CONVENE_NOW", "2027-02-01T09:00:00Z"}, {"CONVENE_DB", ""}};

std::string integrity(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  std::string out = "(no answer)";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

int audit_records(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  int out = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    out = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// A definitions file big enough that an import takes many steps.
std::string big_definitions() {
  std::ostringstream out;
  out << R"({"calendars": {"dc": {"builtin": "us-dc"}}, "communities": [{"id": "big", "name": "Big CoP",
           "timezone": "America/New_York", "observes": ["dc"], "series": [)";
  for (int i = 0; i < 120; ++i) {
    out << (i ? "," : "") << R"({"id": "s)" << i << R"(", "title": "Series )" << i
        << R"(", "start": "2026-09-07T)" << (10 + i % 8) << R"(:00", "duration": "PT1H",
             "rrule": "FREQ=WEEKLY;BYDAY=MO", "on_holiday": "following"})";
  }
  out << R"(]}], "overrides": [)";
  for (int i = 0; i < 60; ++i) {
    out << (i ? "," : "") << R"({"series": "s)" << i << R"(", "occurrence": "2026-11-02T)" << (10 + i % 8)
        << R"(:00", "cancel": true, "reason": "Conference"})";
  }
  out << "]}";
  return out.str();
}

struct Case {
  std::string name;
  std::vector<std::string> args;
  int trials;
};

TEST(StoreCrash, KillNineLeavesTheStoreBeforeOrAfterNeverBetween) {
  TempDir dir;
  const std::string templ = (dir / "template.db").string();
  const std::string defs = (testing::source_dir() / "tests/data/store/definitions.json").string();
  testing::write_file(dir / "big.json", big_definitions());
  auto cli = [&](const std::string& db, std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.push_back("--db");
    args.push_back(db);
    for (const auto& kv : kEnv) env.insert(kv);
    return testing::run_cli_testing(args, "", env);
  };
  ASSERT_EQ(cli(templ, {"import", defs}).exit_code, 0);
  const std::string before = cli(templ, {"export"}).out;
  ASSERT_FALSE(before.empty());
  auto fresh = [&](const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    std::filesystem::copy_file(templ, path);
  };
  // The store's -wal is kept for readers when the last writer closes, but checkpointed:
  // the database file alone holds everything, so each trial starts from a copy of it.
  fresh((dir / "alone.db").string());
  ASSERT_EQ(cli((dir / "alone.db").string(), {"export"}).out, before);

  const std::vector<Case> cases{
      {"import", {"import", (dir / "big.json").string()}, 40},
      {"close", {"close", "dc", "2027-03-17", "--name", "Snow day"}, 8},
      {"reschedule", {"reschedule", "mentoring-monday", "2027-02-08", "--to", "2027-02-09T16:00"}, 8},
      {"split", {"split", "power-hour", "--from", "2027-03-01", "--start", "15:30"}, 8},
  };
  std::mt19937 random(20270201);
  int total = 0;
  for (const auto& c : cases) {
    // The whole run, uncrashed: its step count and the state after it.
    const std::string done = (dir / ("done-" + c.name + ".db")).string();
    fresh(done);
    const std::string steps_file = (dir / "steps").string();
    auto full = cli(done, c.args, {{"CONVENE_TEST_CRASH_AFTER", "1000000000"}, {"CONVENE_TEST_STEPS_FILE", steps_file}});
    ASSERT_EQ(full.exit_code, 0) << c.name << ": " << full.err;
    const long steps = std::stol(testing::read_file(steps_file));
    ASSERT_GT(steps, 5) << c.name;
    const std::string after = cli(done, {"export"}).out;
    ASSERT_NE(after, before) << c.name;

    int crashed_before = 0;
    std::uniform_int_distribution<long> point(1, steps);
    for (int trial = 0; trial < c.trials; ++trial, ++total) {
      const std::string db = (dir / "trial.db").string();
      fresh(db);
      const long n = point(random);
      auto r = cli(db, c.args, {{"CONVENE_TEST_CRASH_AFTER", std::to_string(n)}});
      ASSERT_TRUE(r.exit_code == 128 + 9 || r.exit_code == 0) << c.name << " at step " << n << ": " << r.err;
      auto state = cli(db, {"export"});
      ASSERT_EQ(state.exit_code, 0) << c.name << " at step " << n << ": " << state.err;
      EXPECT_TRUE(state.out == before || state.out == after) << c.name << " killed at step " << n << " of " << steps;
      EXPECT_EQ(integrity(db), "ok") << c.name << " killed at step " << n;
      // The audit trail agrees: one record more exactly when the change landed.
      const bool landed = state.out == after;
      EXPECT_EQ(audit_records(db), landed ? 2 : 1) << c.name << " killed at step " << n;
      if (!landed) ++crashed_before;
    }
    EXPECT_GT(crashed_before, 0) << c.name;
  }
  EXPECT_GE(total, 50);
}

}  // namespace
}  // namespace convene
