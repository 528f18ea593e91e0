// convene/fault_points.h: fault points do nothing without a hook; the binary users run
// (`convene`) has no hook and none of the test build's environment variables; the test
// build (`convene-testing`) kills itself at the fault point it is told to.
//
// The story: CONVENE_TEST_CRASH_AFTER was read by scheduler/store_sqlite.cpp in every
// build, so the binary users run could be made to kill itself (and wrap SQLite's files in
// a test VFS) by one environment variable.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "convene/fault_points.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;

std::vector<std::string> g_seen;

TEST(FaultPoints, NothingHappensWithoutAHook) {
  set_fault_hook(nullptr);
  EXPECT_EQ(fault_hook(), nullptr);
  fault_point("store.step");  // no hook: returns
  set_fault_hook([](std::string_view point) { g_seen.emplace_back(point); });
  fault_point("store.step");
  fault_point("mail.sent");
  set_fault_hook(nullptr);
  fault_point("store.step");
  EXPECT_EQ(g_seen, (std::vector<std::string>{"store.step", "mail.sent"}));
}

const std::string kDefs = (testing::source_dir() / "tests/data/store/definitions.json").string();

std::map<std::string, std::string> env(std::map<std::string, std::string> extra) {
  extra["CONVENE_NOW"] = "2027-02-01T09:00:00Z";
  extra["CONVENE_DB"] = "";
  return extra;
}

TEST(FaultPoints, TheUsersBinaryHasNoHook) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  const std::string steps = (dir / "steps").string();
  auto r = testing::run_cli({"import", kDefs, "--db", db},
                            "", env({{"CONVENE_TEST_CRASH_AFTER", "1"}, {"CONVENE_TEST_STEPS_FILE", steps},
                                     {"CONVENE_TEST_CRASH_AT", "store.step"}}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(steps));
  // Not even the names are in it.
  const std::string binary = testing::read_file(testing::cli_path());
  EXPECT_EQ(binary.find("CONVENE_TEST_"), std::string::npos);
  EXPECT_EQ(binary.find("convene-crash"), std::string::npos);
  const std::string testing_binary = testing::read_file(testing::cli_testing_path());
  EXPECT_NE(testing_binary.find("CONVENE_TEST_CRASH_AFTER"), std::string::npos);
}

TEST(FaultPoints, TheTestBuildCountsAndCrashesWhereItIsTold) {
  TempDir dir;
  const std::string steps = (dir / "steps").string();
  auto counted = testing::run_cli_testing({"import", kDefs, "--db", (dir / "a.db").string()}, "",
                                          env({{"CONVENE_TEST_STEPS_FILE", steps}}));
  ASSERT_EQ(counted.exit_code, 0) << counted.err;
  EXPECT_GT(std::stol(testing::read_file(steps)), 10);

  for (const std::string at : {"store.step:3", "sqlite.sync", "store.exec:2"}) {
    auto killed = testing::run_cli_testing({"import", kDefs, "--db", (dir / "b.db").string()}, "",
                                           env({{"CONVENE_TEST_CRASH_AT", at}}));
    EXPECT_EQ(killed.exit_code, 128 + 9) << at << ": " << killed.err;
    std::filesystem::remove(dir / "b.db");
    std::filesystem::remove(dir / "b.db-wal");
    std::filesystem::remove(dir / "b.db-journal");
  }
  // A point that a run never passes does not crash it.
  auto spared = testing::run_cli_testing({"import", kDefs, "--db", (dir / "c.db").string()}, "",
                                         env({{"CONVENE_TEST_CRASH_AT", "mail.sent"}}));
  EXPECT_EQ(spared.exit_code, 0) << spared.err;
}

}  // namespace
}  // namespace convene
