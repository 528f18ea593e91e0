// A store read by a user who may read it but not write it, nor its folder: a service user
// running `convene serve` over a store an administrator owns (issue 8: `history` and
// `expand` failed "attempt to write a readonly database", since WAL needs its -shm file).
//
// Run as root (CI), the reader is a real unprivileged user: nobody (65534), through
// setpriv, with the files 0644 in a 0755 folder the way an administrator shares them.
// Run as anyone else, the reader is the same user with the store's files 0444 in a 0555
// folder, which that user may not write either. Either way the owner writes meanwhile.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using testing::TempDir;

const std::map<std::string, std::string> kEnv{{"CONVENE_NOW", "2027-02-01T09:00:00Z"},
                                              {"CONVENE_DB", ""},
                                              {"CONVENE_BUSY_TIMEOUT_MS", "10000"}};
const std::string kDefinitions = (testing::source_dir() / "tests/data/store/definitions.json").string();
constexpr unsigned kNobody = 65534;

bool as_root() { return ::geteuid() == 0; }

// The CLI where the reader may run it (the build tree may be in a folder only its owner
// may enter): a copy in a folder everyone may read.
const fs::path& reader_cli() {
  static TempDir folder;
  static const fs::path copy = [] {
    const fs::path to = folder / "convene";
    fs::copy_file(testing::cli_path(), to);
    fs::permissions(folder.path(), fs::perms(0755));
    fs::permissions(to, fs::perms(0755));
    return to;
  }();
  return copy;
}

// `args` as the reader runs them.
std::vector<std::string> as_reader(std::vector<std::string> args) {
  args.insert(args.begin(), reader_cli().string());
  if (as_root()) {
    const std::string id = std::to_string(kNobody);
    args.insert(args.begin(), {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"});
  }
  return args;
}

// A store the owner made and shares read-only: the folder and files the reader may read,
// not write. Modes are put back at scope end so the folder can be removed.
struct SharedStore {
  TempDir dir;
  fs::path folder = dir / "state";
  std::string db = (folder / "convene.db").string();
  std::string token;

  SharedStore() {
    fs::create_directory(folder);
    owner({"import", kDefinitions, "--as", "ana"});
    owner({"cancel", "power-hour", "2027-03-10", "--reason", "Staff development day"});
    auto added = owner({"member", "add", "bea", "--email", "bea@example.org", "--format", "json"});
    token = nlohmann::json::parse(added.out)["token"].get<std::string>();
    owner({"subscribe", "bea", "power-hour"});
    share();
  }
  ~SharedStore() {
    fs::permissions(folder, fs::perms(0700));
    for (const auto& e : fs::directory_iterator(folder)) fs::permissions(e.path(), fs::perms(0600));
  }
  // Readable by the reader, writable only by the owner (as root: root writes anyway).
  void share() {
    const bool root = as_root();
    for (const auto& e : fs::directory_iterator(folder)) fs::permissions(e.path(), fs::perms(root ? 0644 : 0444));
    fs::permissions(folder, fs::perms(root ? 0755 : 0555));
    fs::permissions(dir.path(), fs::perms(0755));
  }
  // The owner's command (as root, root; else the same user, with the folder writable for it).
  RunResult owner(std::vector<std::string> args) {
    if (!as_root() && fs::exists(db)) {
      fs::permissions(folder, fs::perms(0755));
      for (const auto& e : fs::directory_iterator(folder)) fs::permissions(e.path(), fs::perms(0644));
    }
    args.push_back("--db");
    args.push_back(db);
    auto r = testing::run_cli(args, "", kEnv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (!as_root() && fs::exists(folder / "convene.db-wal")) share();
    return r;
  }
  RunResult reader(std::vector<std::string> args) const {
    args.push_back("--db");
    args.push_back(db);
    return testing::run(as_reader(args), "", kEnv);
  }
  // Every file in the folder with its bytes.
  std::map<std::string, std::string> files() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(folder)) out[e.path().filename().string()] = testing::read_file(e.path());
    return out;
  }
};

TEST(StoreReadOnly, ReadingVerbsWorkAndChangeNoFile) {
  SharedStore store;
  const auto before = store.files();
  ASSERT_EQ(before.size(), 3u);  // the database, its -wal and -shm, kept for readers
  const std::vector<std::vector<std::string>> verbs{{"history"},
                                                    {"history", "--format", "json"},
                                                    {"expand", "--from", "2027-02-01", "--to", "2027-04-30"},
                                                    {"preview", "--from", "2027-02-01", "--to", "2027-04-30"},
                                                    {"agenda", "--from", "2027-03-01", "--to", "2027-03-31"},
                                                    {"export"},
                                                    {"check"},
                                                    {"member", "list"},
                                                    {"revision", "power-hour", "2027-03-10"}};
  std::vector<std::string> outputs;
  for (const auto& verb : verbs) {
    auto r = store.reader(verb);
    EXPECT_EQ(r.exit_code, 0) << verb[0] << ": " << r.err;
    EXPECT_EQ(r.err, "") << verb[0];
    outputs.push_back(r.out);
  }
  EXPECT_TRUE(store.files() == before) << "a reader changed a file of the store";
  // What they read is what the owner reads.
  for (std::size_t i = 0; i < verbs.size(); ++i) {
    EXPECT_EQ(outputs[i], store.owner(verbs[i]).out) << verbs[i][0];
    EXPECT_FALSE(outputs[i].empty()) << verbs[i][0];
  }
}

TEST(StoreReadOnly, AChangeIsRefusedWithOneMessageAndNothingWritten) {
  SharedStore store;
  const auto before = store.files();
  auto r = store.reader({"edit", "power-hour", "2027-03-03", "--title", "Wound care"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("convene: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("read-only"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(store.files() == before) << "the refused change wrote a file";
}

// serve as the service user: feeds, the member's link, and the owner's changes at once.
TEST(StoreReadOnly, ServeRunsAsTheReaderAndShowsTheOwnersChanges) {
  SharedStore store;
  for (const auto& [k, v] : kEnv) ::setenv(k.c_str(), v.c_str(), 1);
  std::string error;
  auto server = testing::ChildProcess::start(
      as_reader({"serve", "--store", store.db, "--listen", "127.0.0.1:0", "--access-log", "off"}),
      R"(on http://127\.0\.0\.1:(\d+)/)", error);
  ASSERT_TRUE(server) << error;
  const auto get = [&](const std::string& path) {
    auto r = testing::http_get("http://127.0.0.1:" + server->match() + path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.error;
    return r.body;
  };
  const std::string member_feed = "/feeds/members/" + store.token + ".ics";
  EXPECT_NE(get(member_feed).find("Cancelled: Power Hour (Staff development day)"), std::string::npos);
  EXPECT_EQ(get("/feeds/series/power-hour.ics").find("Wound care"), std::string::npos);
  store.owner({"edit", "power-hour", "2027-03-03", "--title", "Wound care"});
  EXPECT_NE(get("/feeds/series/power-hour.ics").find("SUMMARY:Wound care"), std::string::npos);
  EXPECT_NE(get(member_feed).find("SUMMARY:Wound care"), std::string::npos);
  server->stop();
}

// A WAL store whose -wal and -shm are gone (a store last written before convene kept them,
// or someone deleted them) cannot be read where the folder may not be written: one message
// saying what to do, and doing it works.
TEST(StoreReadOnly, WithoutItsWalFilesTheReaderIsToldWhatToDo) {
  SharedStore store;
  fs::permissions(store.folder, fs::perms(0755));
  fs::remove(store.folder / "convene.db-wal");
  fs::remove(store.folder / "convene.db-shm");
  store.share();
  auto r = store.reader({"history"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "convene: error: cannot read " + store.db + ": " + store.db +
                       "-wal does not exist and its folder may not be written; run any convene command on it once "
                       "as a user who may write it (convene keeps that file), or let this user write the folder\n");
  store.owner({"history"});
  store.share();
  auto again = store.reader({"history"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("member add"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace convene
