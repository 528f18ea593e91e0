// Backup and restore of the whole store (Store::backup, Store::restore_backup; the CLI's
// `convene backup` and `convene restore-backup`), as an administrator runs them: the real
// convene binary on real SQLite files, a real `convene serve` on loopback reading the
// store meanwhile, and writers writing.
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::RunResult;
using testing::TempDir;

const std::map<std::string, std::string> kEnv{{"CONVENE_NOW", "2027-02-01T09:00:00Z"},
                                              {"CONVENE_DB", ""},
                                              {"CONVENE_BUSY_TIMEOUT_MS", "10000"}};
const std::string kDefinitions = (testing::source_dir() / "tests/data/store/definitions.json").string();

RunResult cli(std::vector<std::string> args, const std::string& db) {
  args.push_back("--db");
  args.push_back(db);
  return testing::run_cli(args, "", kEnv);
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A store with the test definitions, one edit and one member subscribed to power-hour;
// returns the member's token.
std::string make_store(const std::string& db) {
  EXPECT_EQ(cli({"import", kDefinitions, "--as", "ana"}, db).exit_code, 0);
  EXPECT_EQ(cli({"edit", "power-hour", "2027-03-03", "--title", "Power Hour: wound care"}, db).exit_code, 0);
  EXPECT_EQ(cli({"cancel", "power-hour", "2027-03-10", "--reason", "Staff development day"}, db).exit_code, 0);
  auto added = cli({"member", "add", "bea", "--email", "bea@example.org", "--format", "json"}, db);
  EXPECT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(cli({"subscribe", "bea", "power-hour"}, db).exit_code, 0);
  return nlohmann::json::parse(added.out)["token"].get<std::string>();
}

// `convene serve --store DB` on 127.0.0.1 and a port the kernel picks.
std::unique_ptr<testing::ChildProcess> serve(const std::string& db) {
  for (const auto& [k, v] : kEnv) ::setenv(k.c_str(), v.c_str(), 1);
  std::string error;
  auto server = testing::ChildProcess::start(
      {testing::cli_path().string(), "serve", "--store", db, "--listen", "127.0.0.1:0", "--access-log", "off"},
      R"(on http://127\.0\.0\.1:(\d+)/)", error);
  EXPECT_TRUE(server) << error;
  return server;
}

// GET `path` from `server`.
testing::HttpResponse get(const testing::ChildProcess& server, const std::string& path) {
  auto r = testing::http_get("http://127.0.0.1:" + server.match() + path);
  EXPECT_NE(r.status, 0) << r.error;
  return r;
}

// Every file under `root`, by relative path, with its bytes.
std::map<std::string, std::string> tree(const std::filesystem::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) files[std::filesystem::relative(e.path(), root).string()] = testing::read_file(e.path());
  }
  return files;
}

nlohmann::json history_of(const std::string& db) {
  auto r = cli({"history", "--format", "json"}, db);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(StoreBackup, BackupWhileServingAndWritingIsTheStateAtOneCommit) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  const std::string token = make_store(db);
  auto server = serve(db);
  ASSERT_TRUE(server);

  // Two writers edit one session each, 12 times; backups are taken and feeds are served
  // while they write.
  constexpr int kWriters = 2, kEdits = 12, kBackups = 3;
  const std::vector<std::string> sessions{"2027-04-07", "2027-04-14"};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 1; i <= kEdits; ++i) {
        const auto title = "writer " + std::to_string(w) + " edit " + std::to_string(i);
        if (cli({"edit", "power-hour", sessions[w], "--title", title}, db).exit_code != 0) ++failures;
      }
    });
  }
  std::vector<std::string> backups;
  for (int b = 0; b < kBackups; ++b) {
    backups.push_back((dir / ("backup-" + std::to_string(b) + ".db")).string());
    auto r = cli({"backup", backups.back()}, db);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("backed up " + db + " to " + backups.back()), std::string::npos) << r.out;
    EXPECT_EQ(get(*server, "/feeds/members/" + token + ".ics").status, 200);
  }
  for (auto& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  const nlohmann::json final_history = history_of(db);
  ASSERT_EQ(final_history.size(), 5u + kWriters * kEdits);
  for (const auto& backup : backups) {
    SCOPED_TRACE(backup);
    EXPECT_EQ(mode_of(backup), 0600u);
    EXPECT_FALSE(std::filesystem::exists(backup + "-wal"));  // one self-contained file
    const std::string restored = (dir / ("restored-" + std::filesystem::path(backup).filename().string())).string();
    auto r = cli({"restore-backup", backup}, restored);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The history of a commit: the first entries of the final one, none half there.
    const nlohmann::json history = history_of(restored);
    ASSERT_GE(history.size(), 5u);
    ASSERT_LE(history.size(), final_history.size());
    for (std::size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i], final_history[i]) << i;
    // And the definitions of that same commit: each session has the title of its last edit there.
    for (int w = 0; w < kWriters; ++w) {
      std::string title = "Power Hour";
      for (const auto& entry : history) {
        if (entry["action"] == "edit" && entry["occurrence"] == sessions[w] + "T15:00") {
          title = entry["after"]["title"].get<std::string>();
        }
      }
      auto expand = cli({"expand", "--from", sessions[w], "--to", sessions[w], "--series", "power-hour"}, restored);
      ASSERT_EQ(expand.exit_code, 0) << expand.err;
      EXPECT_EQ(nlohmann::json::parse(expand.out).at(0)["title"], title);
    }
  }
}

TEST(StoreBackup, RestoredInAFreshFolderItServesTheSameFeedsHistoryAndTokens) {
  TempDir dir, elsewhere;
  const std::string db = (dir / "convene.db").string();
  const std::string token = make_store(db);
  const std::string backup = (dir / "convene-backup.db").string();
  ASSERT_EQ(cli({"backup", backup}, db).exit_code, 0);
  const std::string restored = (elsewhere / "restored.db").string();
  auto r = cli({"restore-backup", backup}, restored);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "restored " + backup + " into " + restored + "\n");
  EXPECT_EQ(mode_of(restored), 0600u);

  // Every published feed and page, byte for byte.
  ASSERT_EQ(cli({"publish", "--out", (dir / "site").string()}, db).exit_code, 0);
  ASSERT_EQ(cli({"publish", "--out", (elsewhere / "site").string()}, restored).exit_code, 0);
  const auto site = tree(dir / "site");
  EXPECT_GT(site.size(), 5u);
  EXPECT_EQ(tree(elsewhere / "site"), site);
  // The same history, members and definitions.
  EXPECT_EQ(history_of(restored), history_of(db));
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"export"}, {"member", "list", "--format", "json"}, {"member", "show", "bea"}}) {
    EXPECT_EQ(cli(verb, restored).out, cli(verb, db).out) << verb[0];
  }
  // The member's existing private feed works on the restored store, with the same bytes.
  auto original_server = serve(db);
  auto restored_server = serve(restored);
  ASSERT_TRUE(original_server && restored_server);
  for (const std::string& path : std::vector<std::string>{"/feeds/members/" + token + ".ics", "/feeds/series/power-hour.ics",
                                               "/feeds/expanded/all.ics"}) {
    const auto original = get(*original_server, path), copy = get(*restored_server, path);
    EXPECT_EQ(original.status, 200) << path;
    EXPECT_EQ(copy.status, 200) << path;
    EXPECT_EQ(copy.body, original.body) << path;
  }
  EXPECT_NE(get(*restored_server, "/feeds/members/" + token + ".ics").body.find("Power Hour: wound care"),
            std::string::npos);
  EXPECT_EQ(get(*restored_server, "/feeds/members/" + std::string(token.size(), 'A') + ".ics").status, 404);
}

TEST(StoreBackup, RestoreOverAStoreThatHoldsDataOnlyWithReplaceAndServeSeesIt) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  const std::string token = make_store(db);
  const std::string backup = (dir / "before-the-mistake.db").string();
  ASSERT_EQ(cli({"backup", backup}, db).exit_code, 0);
  auto server = serve(db);
  ASSERT_TRUE(server);
  const std::string feed_before = get(*server, "/feeds/members/" + token + ".ics").body;
  // The mistake: a series removed by an import of the wrong file.
  const auto wrong = dir / "wrong.json";
  testing::write_file(wrong, R"({ "communities": [ { "id": "nurses", "name": "School Nurse CoP",
    "timezone": "America/New_York", "series": [] } ] })");
  auto mistake = cli({"import", wrong.string(), "--prefer", "file"}, db);
  ASSERT_EQ(mistake.exit_code, 0) << mistake.err;
  ASSERT_NE(get(*server, "/feeds/members/" + token + ".ics").body, feed_before);
  const std::string history_after_mistake = cli({"history"}, db).out;

  auto refused = cli({"restore-backup", backup}, db);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err, "convene: error: " + db + " already holds a store: restoring " + backup +
                             " would replace all of it (give --replace to do so); nothing was changed\n");
  EXPECT_EQ(cli({"history"}, db).out, history_after_mistake);

  auto replaced = cli({"restore-backup", backup, "--replace"}, db);
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  // The running server serves the restored state at once, the member's link included.
  EXPECT_EQ(get(*server, "/feeds/members/" + token + ".ics").body, feed_before);
  EXPECT_EQ(cli({"history"}, db).out, cli({"history"}, backup).out);
  EXPECT_EQ(mode_of(db), 0600u);
}

// --dry-run checks everything a restore checks, says what it would do, and writes nothing.
TEST(StoreBackup, ARehearsedRestoreChecksEverythingAndWritesNothing) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  make_store(db);
  const std::string backup = (dir / "backup.db").string();
  ASSERT_EQ(cli({"backup", backup}, db).exit_code, 0);
  ASSERT_EQ(cli({"edit", "power-hour", "2027-03-17", "--title", "After the backup"}, db).exit_code, 0);
  const std::string history = cli({"history"}, db).out;

  const std::string fresh = (dir / "fresh.db").string();
  auto to_new = cli({"restore-backup", backup, "--dry-run"}, fresh);
  EXPECT_EQ(to_new.exit_code, 0) << to_new.err;
  EXPECT_EQ(to_new.out, "dry run: would have restored " + backup + " into " + fresh +
                            ", a new store\n  nothing was written\n");
  EXPECT_FALSE(std::filesystem::exists(fresh));

  auto refused = cli({"restore-backup", backup, "--dry-run"}, db);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("give --replace to do so"), std::string::npos) << refused.err;
  auto over = cli({"restore-backup", backup, "--replace", "--dry-run"}, db);
  EXPECT_EQ(over.exit_code, 0) << over.err;
  EXPECT_NE(over.out.find(", replacing the store there"), std::string::npos) << over.out;
  EXPECT_EQ(cli({"history"}, db).out, history);

  const auto text = dir / "notes.txt";
  testing::write_file(text, "not a database\n");
  auto bad = cli({"restore-backup", text.string(), "--dry-run"}, fresh);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("is not a convene backup"), std::string::npos) << bad.err;
}

// What is not a convene backup is refused with one message, and the target is not made.
TEST(StoreBackup, RestoreRefusesWhatIsNotABackup) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  make_store(db);
  const std::string good = (dir / "good.db").string();
  ASSERT_EQ(cli({"backup", good}, db).exit_code, 0);

  const auto text = dir / "notes.txt";
  testing::write_file(text, "not a database\n");
  const auto damaged = dir / "damaged.db";
  {
    std::string bytes = testing::read_file(good);
    // Page 2 onwards overwritten: the header is still SQLite's, the b-trees are not.
    for (std::size_t i = 4096; i < bytes.size() && i < 4096 * 8; ++i) bytes[i] = static_cast<char>(0x5a);
    testing::write_file(damaged, bytes);
  }
  const auto other_sqlite = dir / "other.sqlite";
  const auto newer = dir / "newer.db";
  std::filesystem::copy_file(good, newer);
  for (const auto& [path, sql] : std::vector<std::pair<std::string, std::string>>{
           {other_sqlite.string(), "CREATE TABLE t (x)"}, {newer.string(), "PRAGMA user_version = 999"}}) {
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &handle), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(handle);
  }

  const std::vector<std::pair<std::string, std::string>> cases{
      {(dir / "missing.db").string(), "no backup at " + (dir / "missing.db").string()},
      {dir.path().string(), dir.path().string() + " is not a file"},
      {text.string(), text.string() + " is not a convene backup (it is not an SQLite file)"},
      {damaged.string(), damaged.string() + " is damaged"},
      {other_sqlite.string(), other_sqlite.string() + " is an SQLite database, but not a convene store"},
      {newer.string(), newer.string() + " has schema version 999, newer than this convene knows"},
  };
  for (const auto& [file, message] : cases) {
    SCOPED_TRACE(file);
    const std::string target = (dir / "target.db").string();
    auto r = cli({"restore-backup", file}, target);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("convene: error: " + message, 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(target));
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      EXPECT_EQ(e.path().filename().string().find("convene-tmp"), std::string::npos) << e.path();
    }
  }
}

// A backup written over the store it copies, or a store restored from itself, would lose
// it: both are refused, however the path is spelled, and the store is untouched.
TEST(StoreBackup, TheStoreItselfIsNeitherABackupTargetNorABackup) {
  TempDir dir;
  const std::string db = (dir / "convene.db").string();
  make_store(db);
  const std::string history = cli({"history"}, db).out;
  const std::string other_spelling = (dir / "." / "convene.db").string();
  for (const auto& args : std::vector<std::vector<std::string>>{{"backup", other_spelling},
                                                                {"backup", db + "-wal"},
                                                                {"restore-backup", other_spelling, "--replace"}}) {
    SCOPED_TRACE(args[0] + " " + args[1]);
    auto r = cli(args, db);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(args[1] + " is the store " + db), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("itself; choose another file"), std::string::npos) << r.err;
    EXPECT_EQ(cli({"history"}, db).out, history);
  }
}

// The store holds members' names, emails and token hashes: its files, the backups and
// the restored store are the owner's alone, whatever the umask.
TEST(StoreBackup, EveryFileItWritesIsTheOwnersOnly) {
  TempDir dir;
  const mode_t previous = ::umask(0);
  const std::string db = (dir / "convene.db").string();
  make_store(db);
  const std::string backup = (dir / "backup.db").string();
  const std::string restored = (dir / "restored.db").string();
  const bool backed_up = cli({"backup", backup}, db).exit_code == 0;
  const bool restored_ok = cli({"restore-backup", backup}, restored).exit_code == 0 &&
                           cli({"history"}, restored).exit_code == 0;
  ::umask(previous);
  ASSERT_TRUE(backed_up && restored_ok);
  for (const auto& file : {db, db + "-wal", db + "-shm", backup, restored, restored + "-wal", restored + "-shm"}) {
    EXPECT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(mode_of(file), 0600u) << file;
  }
}

}  // namespace
}  // namespace convene
