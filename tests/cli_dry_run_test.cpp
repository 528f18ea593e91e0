// --dry-run on every change verb: the same checks and refusals as the real change, a
// report of what would change (the sessions and the revisions they would get), the
// warnings the change would earn, and nothing written: the store's definitions, its
// history, its members and its file are exactly as before.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace convene {
namespace {

using testing::RunResult;
using testing::TempDir;

struct Store {
  TempDir dir;
  std::string db = (dir / "convene.db").string();
  std::string defs = (testing::source_dir() / "tests/data/store/definitions.json").string();
  std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-02-01T09:00:00Z"}, {"CONVENE_DB", ""},
                                         {"CONVENE_CONFIG", ""}, {"CONVENE_BASE_URL", ""}};
  RunResult run(std::vector<std::string> args) const {
    args.insert(args.end(), {"--db", db, "--as", "ana"});
    return testing::run_cli(args, "", env);
  }
  void setup() const {
    ASSERT_EQ(run({"import", defs}).exit_code, 0);
    ASSERT_EQ(run({"member", "add", "rosa", "--email", "rosa@example.org"}).exit_code, 0);
    ASSERT_EQ(run({"subscribe", "rosa", "power-hour"}).exit_code, 0);
  }
  // Everything a change could touch.
  std::string state() const {
    return run({"export"}).out + run({"history", "--format", "json"}).out + run({"member", "list", "--format", "json"}).out +
           run({"revision", "power-hour", "2027-03-03"}).out + run({"revision", "power-hour"}).out;
  }
};

std::string edited_file(const Store& s) {
  std::string text = testing::read_file(s.defs);
  text.replace(text.find("\"Power Hour\""), 12, "\"Power Hour!\"");
  testing::write_file(s.dir / "edited.json", text);
  return (s.dir / "edited.json").string();
}

TEST(CliDryRun, EveryChangeVerbWritesNothing) {
  Store s;
  s.setup();
  const std::vector<std::vector<std::string>> changes{
      {"import", edited_file(s)},
      {"reschedule", "power-hour", "2027-03-03", "--to", "2027-03-04T15:00"},
      {"cancel", "power-hour", "2027-03-03"},
      {"restore", "mentoring-monday", "2027-03-08"},
      {"edit", "power-hour", "2027-03-03", "--title", "Asthma"},
      {"split", "power-hour", "--from", "2027-03-01", "--start", "15:30"},
      {"close", "dc", "2027-03-17", "--name", "Snow day"},
      {"member", "add", "ben", "--email", "ben@example.org"},
      {"member", "set", "rosa", "--name", "Rosa Diaz"},
      {"member", "rotate-token", "rosa"},
      {"member", "remove", "rosa"},
      {"subscribe", "rosa", "bh-monthly"},
      {"unsubscribe", "rosa", "power-hour"},
  };
  const std::string before = s.state();
  for (auto args : changes) {
    args.push_back("--dry-run");
    auto r = s.run(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_NE(r.out.find("dry run: "), std::string::npos) << args[0] << ": " << r.out;
    EXPECT_EQ(s.state(), before) << args[0] << " --dry-run changed the store";
  }
  // The reopen of a closure that exists, rehearsed.
  ASSERT_EQ(s.run({"close", "dc", "2027-03-17", "--name", "Snow day"}).exit_code, 0);
  const std::string closed = s.state();
  auto reopen = s.run({"reopen", "dc", "2027-03-17", "--dry-run"});
  EXPECT_EQ(reopen.exit_code, 0) << reopen.err;
  EXPECT_EQ(s.state(), closed);
}

TEST(CliDryRun, SaysWhatWouldChangeAndTheRevisionsItWouldGive) {
  Store s;
  s.setup();
  auto text = s.run({"cancel", "power-hour", "2027-03-03", "--reason", "Testing week", "--dry-run"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "dry run: would have cancelled power-hour 2027-03-03T15:00\n"
            "  nothing was written; 1 session would be at a new revision:\n"
            "    power-hour 2027-03-03T15:00 → revision 1\n");
  auto json = nlohmann::json::parse(s.run({"cancel", "power-hour", "2027-03-03", "--dry-run", "--format", "json"}).out);
  EXPECT_EQ(json["dry_run"], true);
  EXPECT_EQ(json["changed"], true);
  EXPECT_TRUE(json["change"].is_null());
  EXPECT_EQ(json["affected"][0]["revision"], 1);
  // The real change then does what the rehearsal said.
  auto real = nlohmann::json::parse(s.run({"cancel", "power-hour", "2027-03-03", "--format", "json"}).out);
  EXPECT_EQ(real["dry_run"], false);
  EXPECT_EQ(real["affected"], json["affected"]);
  EXPECT_EQ(real["summary"], json["summary"]);
}

TEST(CliDryRun, RefusesWhatTheRealChangeRefuses) {
  Store s;
  s.setup();
  const std::string before = s.state();
  auto r = s.run({"reschedule", "power-hour", "2027-03-03T15:00", "--to", "2027-03-10T15:00", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("the series already has a session at that time"), std::string::npos) << r.err;
  auto unknown = s.run({"cancel", "power-hours", "2027-03-03", "--dry-run"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("did you mean \"power-hour\""), std::string::npos) << unknown.err;
  EXPECT_EQ(s.state(), before);
}

TEST(CliDryRun, WarnsAsTheRealChangeWould) {
  Store s;
  s.setup();
  const std::string before = s.state();
  auto r = s.run({"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-15T15:00", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "convene: warning: power-hour 2027-02-10T15:00 now falls on Washington's Birthday (dc), 2027-02-15\n");
  auto split = s.run({"split", "power-hour", "--from", "2027-03-01", "--start", "2027-03-01T15:30", "--rrule",
                      "FREQ=WEEKLY;BYDAY=MO", "--dry-run"});
  EXPECT_EQ(split.exit_code, 0) << split.err;
  EXPECT_NE(split.err.find("power-hour-from-2027-03-01 2027-04-12T15:30 now overlaps \"Mentoring Monday\""),
            std::string::npos)
      << split.err;
  EXPECT_EQ(s.state(), before);
}

TEST(CliDryRun, AFirstImportOrMemberCreatesNoStore) {
  Store s;
  auto imported = s.run({"import", s.defs, "--dry-run"});
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out.rfind("dry run: would have imported ", 0), 0u) << imported.out;
  auto member = s.run({"member", "add", "rosa", "--email", "rosa@example.org", "--dry-run", "--format", "json"});
  EXPECT_EQ(member.exit_code, 0) << member.err;
  auto j = nlohmann::json::parse(member.out);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_TRUE(j["token"].is_null());
  EXPECT_TRUE(j["url"].is_null());
  EXPECT_FALSE(std::filesystem::exists(s.db));
  EXPECT_FALSE(std::filesystem::exists(s.db + "-wal"));
}

}  // namespace
}  // namespace convene
