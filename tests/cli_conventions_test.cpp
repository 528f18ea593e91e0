// The conventions every verb of the CLI keeps (integrations/cli/commands.h):
//   exit status 0 success, 1 refused or bad input, 2 usage error (every CLI11 parse error);
//   one "convene: error: " line per error, nothing on standard output;
//   the nearest verb or option suggested for a typo;
//   `convene help [VERB...]` and --help/--version on standard output with exit 0;
//   the global options (--db, --as, --config, --base-url) before or after the verb.
//
// The story: a new user got 105 for `--format xml`, 106 for no verb, an unknown verb or a
// missing --to, 109 for an unknown flag and 114 for a flag without a value; three error
// styles ("convene: error:", "error:", CLI11's bare text); no suggestion for `previwe` or
// `--seires`; and `convene --db x preview` was refused.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace convene {
namespace {

using testing::run_cli;
using testing::RunResult;
using testing::TempDir;

const std::string kSample = (testing::source_dir() / "samples/communities-2026-27.json").string();
const std::string kStoreDefs = (testing::source_dir() / "tests/data/store/definitions.json").string();
const std::map<std::string, std::string> kEnv{
    {"CONVENE_NOW", "2027-02-01T09:00:00Z"}, {"CONVENE_TODAY", "2027-02-01"}, {"CONVENE_DB", ""},
    {"CONVENE_CONFIG", ""}, {"CONVENE_BASE_URL", ""}};

RunResult cli(const std::vector<std::string>& args) { return run_cli(args, "", kEnv); }

long lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// Exactly one line on standard error, with the prefix; nothing on standard output.
void expect_one_error(const RunResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << ": " << r.err;
  EXPECT_EQ(r.out, "") << what;
  EXPECT_EQ(r.err.rfind("convene: error: ", 0), 0u) << what << ": " << r.err;
  EXPECT_EQ(lines(r.err), 1) << what << ": " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << what << ": missing \"" << needle << "\" in " << r.err;
}

TEST(CliConventions, SuccessExitsZero) {
  auto r = cli({"check", kSample});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(CliConventions, EveryUsageErrorExitsTwoWithOneLine) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{}, "no verb given"},
      {{"previwe", kSample}, "unknown verb \"previwe\""},
      {{"preview", kSample, "--seires", "mentoring-monday"}, "unknown option \"--seires\""},
      {{"expand", kSample, "--from", "2027-01-01"}, "--to is required"},
      {{"expand", kSample, "--from", "2027-01-01", "--to", "2027-01-31", "--format", "xml"}, "xml not in"},
      {{"preview", kSample, "--series"}, "--series"},
      {{"check", kSample, "extra"}, "unexpected argument \"extra\" for `convene check`"},
      {{"member"}, "`convene member` needs a verb: add, remove"},
      {{"member", "lst"}, "unknown verb \"lst\" of `convene member`"},
      {{"history", "--limit", "many"}, "--limit"},
      {{"help", "nosuchverb"}, "unknown verb \"nosuchverb\""},
      {{"--db"}, "--db"},
  };
  for (const auto& c : cases) {
    std::string what = "convene";
    for (const auto& a : c.args) what += " " + a;
    expect_one_error(cli(c.args), 2, c.says, what);
  }
}

TEST(CliConventions, RefusedOrBadInputExitsOne) {
  TempDir dir;
  testing::write_file(dir / "bad.json", R"({"communities": [{"id": "x", "name": "X", "timezone": "Mars/Olympus", "series": []}]})");
  const std::string db = (dir / "convene.db").string();
  ASSERT_EQ(cli({"import", kStoreDefs, "--db", db}).exit_code, 0);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{"preview", kSample, "--from", "2027-13-01"}, "--from \"2027-13-01\" is not a date"},
      {{"check", (dir / "missing.json").string()}, "missing.json"},
      {{"cancel", "mentoring-mondays", "2027-02-08", "--db", db}, "did you mean \"mentoring-monday\""},
      {{"expand", "--from", "2027-01-01", "--to", "2027-01-31", "--db", (dir / "none.db").string()},
       "no convene store at"},
      {{"check", "--config", (dir / "absent.conf").string()}, "absent.conf: no such configuration file"},
  };
  for (const auto& c : cases) {
    std::string what = "convene";
    for (const auto& a : c.args) what += " " + a;
    expect_one_error(cli(c.args), 1, c.says, what);
  }
}

TEST(CliConventions, LoaderDiagnosticsCarryThePrefix) {
  TempDir dir;
  testing::write_file(dir / "bad.json", R"({"communities": [{"id": "x", "name": "X", "timezone": "Mars/Olympus", "series": []}]})");
  auto r = cli({"check", (dir / "bad.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("convene: error: " + (dir / "bad.json").string() + ": /communities/0/timezone: ", 0), 0u)
      << r.err;
  // A warning does not fail, and has its own prefix.
  testing::write_file(dir / "warn.json", R"({"communities": [{"id": "x", "name": "X", "timezone": "America/New_York",
      "series": [{"id": "s", "title": "S", "start": "2027-02-01T16:00", "duration": "PT1H",
                  "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}]}]})");
  auto w = cli({"check", (dir / "warn.json").string()});
  EXPECT_EQ(w.exit_code, 0) << w.err;
  EXPECT_EQ(w.err.rfind("convene: warning: ", 0), 0u) << w.err;
}

TEST(CliConventions, SuggestsTheNearestVerbAndOption) {
  EXPECT_NE(cli({"previwe"}).err.find("did you mean \"preview\"?"), std::string::npos);
  EXPECT_NE(cli({"preview", kSample, "--seires", "x"}).err.find("did you mean \"--series\"?"), std::string::npos);
  EXPECT_NE(cli({"member", "lst"}).err.find("did you mean \"list\"?"), std::string::npos);
  EXPECT_NE(cli({"help", "histroy"}).err.find("did you mean \"history\"?"), std::string::npos);
  // A global option is a candidate too, and `--opt=value` is matched by its name.
  EXPECT_NE(cli({"preview", kSample, "--dbb=x.db"}).err.find("did you mean \"--db\"?"), std::string::npos);
  // Nothing near: no guess.
  const auto far = cli({"frobnicate"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

TEST(CliConventions, HelpForEveryVerb) {
  const auto top = cli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_EQ(top.err, "");
  EXPECT_EQ(cli({"help"}).out, top.out);
  EXPECT_NE(top.out.find("Exit status: 0 success; 1 refused or bad input"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("Global options (before or after the verb)"), std::string::npos) << top.out;
  for (const std::vector<std::string> verb : {std::vector<std::string>{"preview"}, {"member", "add"}, {"history"}}) {
    std::vector<std::string> help{"help"}, flag = verb;
    help.insert(help.end(), verb.begin(), verb.end());
    flag.push_back("--help");
    const auto by_verb = cli(help), by_flag = cli(flag);
    EXPECT_EQ(by_verb.exit_code, 0) << by_verb.err;
    EXPECT_EQ(by_flag.exit_code, 0) << by_flag.err;
    EXPECT_EQ(by_verb.out, by_flag.out);
    std::string name = "convene";
    for (const auto& w : verb) name += " " + w;
    EXPECT_NE(by_verb.out.find("Usage: " + name + " "), std::string::npos) << by_verb.out;
    EXPECT_NE(by_verb.out.find("Exit status:"), std::string::npos) << by_verb.out;
  }
  const auto version = cli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("convene ", 0), 0u) << version.out;
}

TEST(CliConventions, GlobalOptionsBeforeOrAfterTheVerb) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  ASSERT_EQ(cli({"--as", "ana", "--db", db, "import", kStoreDefs}).exit_code, 0);
  const auto before = cli({"--db", db, "preview", "--from", "2027-02-01", "--to", "2027-02-28"});
  const auto after = cli({"preview", "--from", "2027-02-01", "--to", "2027-02-28", "--db", db});
  const auto alias = cli({"preview", "--store", db, "--from", "2027-02-01", "--to", "2027-02-28"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_NE(before.out.find("Power Hour"), std::string::npos);
  EXPECT_EQ(before.out, after.out);
  EXPECT_EQ(before.out, alias.out);
  ASSERT_EQ(cli({"cancel", "power-hour", "2027-02-10", "--db", db, "--as", "ben"}).exit_code, 0);
  ASSERT_EQ(cli({"--as", "cy", "restore", "--db", db, "power-hour", "2027-02-10"}).exit_code, 0);
  const auto history = cli({"history", "--db", db});
  EXPECT_NE(history.out.find("ana"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("ben"), std::string::npos) << history.out;
  EXPECT_NE(history.out.find("cy"), std::string::npos) << history.out;
  // Nested verbs too.
  EXPECT_EQ(cli({"--db", db, "member", "list"}).exit_code, 0);
  EXPECT_EQ(cli({"member", "list", "--db", db}).exit_code, 0);
}

}  // namespace
}  // namespace convene
