// The settings of integrations/cli/settings.h: each resolved flag > environment >
// configuration file > default, the file read with CLI11's config parser and refused,
// with the file and the key named, when it says something convene does not know.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace convene {
namespace {

using testing::run_cli;
using testing::RunResult;
using testing::TempDir;

// No setting leaks in from the machine running the tests.
std::map<std::string, std::string> clean_env(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"CONVENE_DB", ""},         {"CONVENE_LISTEN", ""},
                                         {"CONVENE_BASE_URL", ""},   {"CONVENE_ACCESS_LOG", ""},
                                         {"CONVENE_CONFIG", ""}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

nlohmann::json config(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{"config", "--format", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_cli(argv, "", env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

const char* kFile = R"(# convene.conf
db = "/srv/file.db"
listen = "127.0.0.1:9090"
base_url = "https://file.example.org"
access_log = "/var/log/convene/access.log"
)";

TEST(CliSettings, DefaultsWithNoFile) {
  // The default file may exist on an installed machine: name an empty one instead.
  TempDir dir;
  testing::write_file(dir / "empty.conf", "");
  auto j = config({"--config", (dir / "empty.conf").string()}, clean_env());
  EXPECT_EQ(j["settings"]["db"]["value"], "./convene.db");
  EXPECT_EQ(j["settings"]["db"]["origin"], "default");
  EXPECT_EQ(j["settings"]["listen"]["value"], "127.0.0.1:8080");
  EXPECT_TRUE(j["settings"]["base_url"]["value"].is_null());
  EXPECT_EQ(j["settings"]["access_log"]["value"], "-");
}

TEST(CliSettings, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  TempDir dir;
  testing::write_file(dir / "convene.conf", kFile);
  const std::string file = (dir / "convene.conf").string();
  // The file alone.
  auto j = config({"--config", file}, clean_env());
  EXPECT_EQ(j["config_file"], file);
  EXPECT_EQ(j["settings"]["db"]["value"], "/srv/file.db");
  EXPECT_EQ(j["settings"]["db"]["origin"], "file " + file);
  EXPECT_EQ(j["settings"]["listen"]["value"], "127.0.0.1:9090");
  EXPECT_EQ(j["settings"]["base_url"]["value"], "https://file.example.org");
  EXPECT_EQ(j["settings"]["access_log"]["value"], "/var/log/convene/access.log");
  // The environment over the file; CONVENE_CONFIG names the file as --config does.
  j = config({}, clean_env({{"CONVENE_CONFIG", file},
                            {"CONVENE_DB", "/srv/env.db"},
                            {"CONVENE_LISTEN", "127.0.0.1:7070"},
                            {"CONVENE_BASE_URL", "https://env.example.org"},
                            {"CONVENE_ACCESS_LOG", "off"}}));
  EXPECT_EQ(j["settings"]["db"]["value"], "/srv/env.db");
  EXPECT_EQ(j["settings"]["db"]["origin"], "environment CONVENE_DB");
  EXPECT_EQ(j["settings"]["listen"]["value"], "127.0.0.1:7070");
  EXPECT_EQ(j["settings"]["base_url"]["value"], "https://env.example.org");
  EXPECT_EQ(j["settings"]["access_log"]["value"], "off");
  // The flag over the environment (and an empty variable counts as unset).
  j = config({"--config", file, "--db", "/srv/flag.db", "--base-url", "https://flag.example.org"},
             clean_env({{"CONVENE_DB", "/srv/env.db"}, {"CONVENE_BASE_URL", "https://env.example.org"},
                        {"CONVENE_LISTEN", ""}}));
  EXPECT_EQ(j["settings"]["db"]["value"], "/srv/flag.db");
  EXPECT_EQ(j["settings"]["db"]["origin"], "flag --db");
  EXPECT_EQ(j["settings"]["base_url"]["value"], "https://flag.example.org");
  EXPECT_EQ(j["settings"]["listen"]["origin"], "file " + file);
}

TEST(CliSettings, VerbsUseTheFilesStore) {
  TempDir dir;
  const std::string db = (dir / "from-file.db").string();
  testing::write_file(dir / "convene.conf", "db = \"" + db + "\"\n");
  const auto env = clean_env({{"CONVENE_CONFIG", (dir / "convene.conf").string()}});
  const std::string defs = (testing::source_dir() / "tests/data/store/definitions.json").string();
  auto imported = run_cli({"import", defs}, "", env);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_TRUE(std::filesystem::exists(db));
  auto checked = run_cli({"check"}, "", env);
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_NE(checked.out.find("store " + db), std::string::npos) << checked.out;
}

TEST(CliSettings, TheFileIsRefusedWithItsNameAndKey) {
  TempDir dir;
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> cases{
      {"databse = \"x.db\"\n", "unknown key \"databse\" (known: db, listen, base_url, access_log)"},
      {"[serve]\nlisten = \"127.0.0.1:1\"\n", "sections are not used"},
      {"db = \"a.db\"\ndb = \"b.db\"\n", "key \"db\" is given more than once"},
      {"base_url = \"ftp://example.org\"\n", "is not an absolute http:// or https:// URL"},
      {"base_url = \"https://exa mple.org\"\n", "is not an absolute http:// or https:// URL"},
      {std::string(70 * 1024, '#') + "\n", "larger than 64 KiB"},
  };
  for (const auto& c : cases) {
    testing::write_file(dir / "bad.conf", c.text);
    auto r = run_cli({"config", "--config", (dir / "bad.conf").string()}, "", clean_env());
    EXPECT_EQ(r.exit_code, 1) << c.says;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("convene: error: " + (dir / "bad.conf").string() + ": ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  auto folder = run_cli({"config", "--config", dir.path().string()}, "", clean_env());
  EXPECT_EQ(folder.exit_code, 1);
  EXPECT_NE(folder.err.find("is not a regular file"), std::string::npos) << folder.err;
  auto bad_env = run_cli({"config"}, "", clean_env({{"CONVENE_BASE_URL", "cop.example.org"}}));
  EXPECT_EQ(bad_env.exit_code, 1);
  EXPECT_NE(bad_env.err.find("environment CONVENE_BASE_URL: base URL \"cop.example.org\""), std::string::npos)
      << bad_env.err;
}

}  // namespace
}  // namespace convene
