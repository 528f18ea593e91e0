// `convene target` and `convene sync` as an administrator and facilitators use them: the
// sample communities, an email target on python3-aiosmtpd and a CalDAV target on
// Radicale (with a login), both on loopback. The scenario that matters: invite a
// community, then reschedule, cancel one session, close a snow day, split a series, edit
// a title, unsubscribe a member, syncing after each step: at the end every target holds
// exactly one event per series with the right overrides, and each member received exactly
// the messages each step called for. Then every bad input, each with one clear message.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

using namespace convene::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One message as the scenario checks it: who, what, which event, which session.
struct Seen {
  std::string to, method, uid, recurrence_id;
  friend bool operator<(const Seen& a, const Seen& b) {
    return std::tie(a.to, a.method, a.uid, a.recurrence_id) < std::tie(b.to, b.method, b.uid, b.recurrence_id);
  }
  friend bool operator==(const Seen& a, const Seen& b) = default;
};

std::ostream& operator<<(std::ostream& out, const Seen& s) {
  return out << s.to << " " << s.method << " " << s.uid << (s.recurrence_id.empty() ? "" : " " + s.recurrence_id);
}

class CliSync : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    sink_ = SmtpSink::start(dir_ / "sink", {}, error);
    ASSERT_TRUE(sink_) << error;
    dav_ = RadicaleServer::start(dir_ / "radicale", error, {{"cop", "dav-pw"}});
    ASSERT_TRUE(dav_) << error;
    ASSERT_EQ(dav_->make_calendar("/cop/nurses/", "cop", "dav-pw"), 201);
    write_file(dir_ / "dav.pass", "dav-pw\n");
    ::chmod((dir_ / "dav.pass").c_str(), 0600);
    ok({"import", (source_dir() / "samples/communities-2026-27.json").string()});
    member("rosa", "Rosa Díaz", {"community:school-nurses"});
    member("ben", "Ben Ode", {"series:power-hour"});
    ok({"member", "add", "dee", "--email", "dee@example.org"});
    ok({"subscribe", "dee", "community:school-nurses"});  // feed delivery: no invitations
  }

  RunResult cli(std::vector<std::string> args, const std::map<std::string, std::string>& extra = {}) {
    args.insert(args.begin(), {"--db", (dir_ / "convene.db").string(), "--as", "ana"});
    auto env = extra;
    env["CONVENE_NOW"] = "2026-08-20T12:00:00Z";
    env["CONVENE_DB"] = "";
    env["CONVENE_KEY_FILE"] = "";
    return run_cli(args, "", env);
  }
  std::string ok(const std::vector<std::string>& args) {
    const auto r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << "convene " << args[0] << ": " << r.err << r.out;
    return r.out;
  }
  // One message, exit 1, nothing on standard output.
  std::string refused(const std::vector<std::string>& args, int code = 1) {
    const auto r = cli(args);
    EXPECT_EQ(r.exit_code, code) << r.out << r.err;
    EXPECT_EQ(r.err.rfind("convene: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    return r.err;
  }
  void member(const std::string& id, const std::string& name, const std::vector<std::string>& to) {
    ok({"member", "add", id, "--email", id + "@example.org", "--name", name});
    ok({"member", "set", id, "--delivery", "invite"});
    for (const auto& t : to) ok({"subscribe", id, t});
  }
  void add_targets() {
    ok({"target", "add", "mail", "--kind", "email", "--smtp-url", sink_->url(), "--from",
        "School Nurse CoP <cop@example.org>", "--community", "school-nurses"});
    ok({"target", "add", "dav", "--kind", "caldav", "--url", dav_->url("/cop/nurses/"), "--username", "cop",
        "--password-file", (dir_ / "dav.pass").string(), "--organizer", "School Nurse CoP <cop@example.org>",
        "--community", "school-nurses"});
  }

  // Messages received since the last call.
  std::multiset<Seen> new_messages(json* raw = nullptr) {
    const json messages = sink_->read_new(seen_);
    if (raw) *raw = messages;
    std::multiset<Seen> out;
    for (const auto& m : messages) {
      EXPECT_TRUE(m["defects"].empty()) << m["defects"].dump();
      const auto& events = m["calendar"]["events"];
      const std::string rid = events.size() == 1 && !events[0]["recurrence_id"].is_null()
                                  ? events[0]["recurrence_id"]["text"].get<std::string>().substr(0, 16)
                                  : "";
      out.insert({m["to"][0]["addr"], m["calendar"]["method"], events[0]["uid"], rid});
    }
    return out;
  }

  // The calendar objects Radicale holds, as python3-icalendar reads them, by UID.
  std::map<std::string, json> dav_objects() {
    std::vector<std::string> args{(source_dir() / "tests/oracles/read_mail.py").string()};
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "radicale"))
      if (e.path().extension() == ".ics" && e.path().parent_path().filename() == "nurses") args.push_back(e.path().string());
    std::map<std::string, json> out;
    if (args.size() == 1) return out;
    const auto r = run_python(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const auto& o : json::parse(r.out)) {
      const auto& events = o["calendar"]["events"];
      EXPECT_FALSE(events.empty());
      EXPECT_TRUE(out.emplace(events[0]["uid"].get<std::string>(), o["calendar"]).second) << "one object per series";
    }
    return out;
  }

  void sync_ok() {
    const auto r = cli({"sync"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  TempDir dir_;
  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<RadicaleServer> dav_;
  std::size_t seen_ = 0;
};

std::string rid_of(const json& e) {
  return e["recurrence_id"].is_null() ? "" : e["recurrence_id"]["text"].get<std::string>().substr(0, 16);
}

const json* event_of(const json& calendar, const std::string& rid) {
  for (const auto& e : calendar["events"])
    if (rid_of(e) == rid) return &e;
  return nullptr;
}

}  // namespace

TEST_F(CliSync, TheScenarioOnBothTargets) {
  add_targets();
  const std::string mm = "mentoring-monday@convene", ph = "power-hour@convene", stc = "special-topics-cafe@convene",
                    eq = "equity-collaborative@convene", cont = "power-hour-from-2027-03-01@convene";
  const std::string rosa = "rosa@example.org", ben = "ben@example.org";
  using S = std::multiset<Seen>;

  // 1. Invite the community.
  const auto plan = ok({"sync", "--dry-run"});
  EXPECT_NE(plan.find("target mail (email): 4 operations"), std::string::npos) << plan;
  EXPECT_NE(plan.find("target dav (caldav): 4 operations"), std::string::npos) << plan;
  EXPECT_TRUE(new_messages().empty()) << "a dry run sends nothing";
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{ben, "REQUEST", ph, ""}, {rosa, "REQUEST", eq, ""}, {rosa, "REQUEST", mm, ""},
                               {rosa, "REQUEST", ph, ""}, {rosa, "REQUEST", stc, ""}}));
  auto objects = dav_objects();
  ASSERT_EQ(objects.size(), 4u);
  EXPECT_EQ((*event_of(objects[ph], ""))["attendees"].size(), 2u) << "ben and rosa";

  // 2. Reschedule one session.
  ok({"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-11T15:00", "--reason", "Presenter's request"});
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{ben, "REQUEST", ph, ""}, {rosa, "REQUEST", ph, ""}}));
  objects = dav_objects();
  ASSERT_TRUE(event_of(objects[ph], "2027-02-10T15:00"));
  EXPECT_EQ((*event_of(objects[ph], "2027-02-10T15:00"))["dtstart"]["text"].get<std::string>().substr(0, 16),
            "2027-02-11T15:00");

  // 3. Cancel one session: a CANCEL of that session only.
  ok({"cancel", "power-hour", "2027-03-10", "--reason", "Staff development day"});
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{ben, "CANCEL", ph, "2027-03-10T15:00"}, {rosa, "CANCEL", ph, "2027-03-10T15:00"}}));
  objects = dav_objects();
  ASSERT_TRUE(event_of(objects[ph], "2027-03-10T15:00"));
  EXPECT_EQ((*event_of(objects[ph], "2027-03-10T15:00"))["status"], "CANCELLED");

  // 4. A snow day closes the district: the Special Topics Cafe moves to the day before.
  ok({"close", "district", "2027-01-28", "--name", "Snow day"});
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{rosa, "REQUEST", stc, ""}}));
  objects = dav_objects();
  ASSERT_TRUE(event_of(objects[stc], "2027-01-28T15:30"));
  EXPECT_EQ((*event_of(objects[stc], "2027-01-28T15:30"))["dtstart"]["text"].get<std::string>().substr(0, 10),
            "2027-01-27");

  // 5. Split Power Hour: the old series ends, its continuation is a new series both follow.
  ok({"split", "power-hour", "--from", "2027-03-01", "--start", "15:30", "--reason", "New time from March"});
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{ben, "REQUEST", cont, ""}, {ben, "REQUEST", ph, ""}, {rosa, "REQUEST", cont, ""},
                               {rosa, "REQUEST", ph, ""}}));
  objects = dav_objects();
  ASSERT_EQ(objects.size(), 5u);
  EXPECT_EQ((*event_of(objects[cont], ""))["dtstart"]["text"].get<std::string>().substr(11, 5), "15:30");

  // 6. Edit one session's title.
  ok({"edit", "mentoring-monday", "2027-04-19", "--title", "Asthma action plans"});
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{rosa, "REQUEST", mm, ""}}));
  objects = dav_objects();
  ASSERT_TRUE(event_of(objects[mm], "2027-04-19T16:00"));
  EXPECT_EQ((*event_of(objects[mm], "2027-04-19T16:00"))["summary"], "Asthma action plans");

  // 7. Ben unsubscribes: a CANCEL of each series he had; he leaves the attendees.
  ok({"unsubscribe", "ben", "series:power-hour"});
  sync_ok();
  EXPECT_EQ(new_messages(), (S{{ben, "CANCEL", cont, ""}, {ben, "CANCEL", ph, ""}}));
  objects = dav_objects();
  ASSERT_EQ(objects.size(), 5u);
  for (const auto& uid : {ph, cont}) {
    const auto& attendees = (*event_of(objects[uid], ""))["attendees"];
    ASSERT_EQ(attendees.size(), 1u) << uid;
    EXPECT_EQ(attendees[0]["value"], "mailto:rosa@example.org");
  }

  // Nothing left to do anywhere.
  const auto last = ok({"sync"});
  EXPECT_NE(last.find("target mail (email): nothing to do"), std::string::npos) << last;
  EXPECT_NE(last.find("target dav (caldav): nothing to do"), std::string::npos) << last;
  EXPECT_TRUE(new_messages().empty());

  // Every CalDAV object matches the community's feed, override for override: the same
  // builder made both.
  ok({"publish", "--out", (dir_ / "site").string(), "--base-url", "https://cop.example.org"});
  const auto feed = run_python({(source_dir() / "tests/oracles/read_mail.py").string(),
                                (dir_ / "site/feeds/communities/school-nurses.ics").string()});
  ASSERT_EQ(feed.exit_code, 0) << feed.err;
  std::set<std::tuple<std::string, std::string, int, std::string>> from_feed, from_dav;
  const json feed_read = json::parse(feed.out);  // held: a range-for would not keep the temporary
  for (const auto& e : feed_read[0]["calendar"]["events"])
    from_feed.insert({e["uid"], rid_of(e), e["sequence"].get<int>(), e["dtstart"]["text"]});
  for (const auto& [uid, calendar] : dav_objects())
    for (const auto& e : calendar["events"]) from_dav.insert({e["uid"], rid_of(e), e["sequence"].get<int>(), e["dtstart"]["text"]});
  EXPECT_EQ(from_dav, from_feed);
}

TEST_F(CliSync, TargetsAreListedShownAndRemovedWithoutTheirSecrets) {
  add_targets();
  const auto list = ok({"target", "list"});
  EXPECT_NE(list.find("mail  email  school-nurses"), std::string::npos) << list;
  const auto shown = ok({"target", "show", "dav", "--format", "json"});
  const auto j = json::parse(shown);
  EXPECT_EQ(j["settings"]["password"], "file " + (dir_ / "dav.pass").string());
  EXPECT_EQ(shown.find("dav-pw"), std::string::npos) << "never the password";
  EXPECT_EQ(read_file(dir_ / "convene.db").find("dav-pw"), std::string::npos) << "nor in the database";
  // Rehearsals write nothing.
  EXPECT_EQ(ok({"target", "add", "more", "--kind", "email", "--smtp-url", sink_->url(), "--from", "CoP <cop@example.org>",
                "--all", "--dry-run"}),
            "would add target more (email); nothing written\n");
  EXPECT_EQ(ok({"target", "remove", "dav", "--dry-run"}), "would remove target dav; nothing written\n");
  EXPECT_EQ(ok({"target", "list"}), list);
  ok({"target", "remove", "dav"});
  EXPECT_NE(refused({"target", "show", "dav"}).find("no target \"dav\""), std::string::npos);
}

TEST_F(CliSync, AKeptSecretIsSealedWithTheKeyFile) {
  const auto key = dir_ / "convene.key";
  const auto r = cli({"target", "add", "dav", "--kind", "caldav", "--url", dav_->url("/cop/nurses/"), "--username",
                      "cop", "--password-file", (dir_ / "dav.pass").string(), "--keep-secret", "--key-file",
                      key.string(), "--organizer", "CoP <cop@example.org>", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  fs::remove(dir_ / "dav.pass");  // kept in the store now, sealed
  EXPECT_EQ(read_file(dir_ / "convene.db").find("dav-pw"), std::string::npos);
  EXPECT_NE(ok({"target", "show", "dav"}).find("password: sealed in the store"), std::string::npos);
  const auto synced = cli({"sync", "--key-file", key.string()});
  EXPECT_EQ(synced.exit_code, 0) << synced.out << synced.err;
  EXPECT_EQ(dav_objects().size(), 7u);
  // Without the key, the target cannot log in for the next change, and says why.
  ok({"cancel", "power-hour", "2027-03-10", "--reason", "Staff development day"});
  const auto keyless = cli({"sync", "--key-file", (dir_ / "missing.key").string()});
  EXPECT_EQ(keyless.exit_code, 1);
  EXPECT_NE(keyless.out.find("missing.key"), std::string::npos) << keyless.out;
}

TEST_F(CliSync, EveryBadInputIsOneClearMessage) {
  add_targets();
  const std::string url = sink_->url();
  const std::string from = "CoP <cop@example.org>";
  // Unknown target, twice over.
  EXPECT_NE(refused({"sync", "--target", "nope"}).find("no target \"nope\""), std::string::npos);
  EXPECT_NE(refused({"target", "remove", "nope"}).find("no target \"nope\""), std::string::npos);
  // A password file others can read.
  write_file(dir_ / "loose.pass", "pw\n");
  ::chmod((dir_ / "loose.pass").c_str(), 0644);
  const auto loose = refused({"target", "add", "x", "--kind", "email", "--smtp-url", url, "--from", from, "--username",
                              "cop", "--password-file", (dir_ / "loose.pass").string(), "--all"});
  EXPECT_NE(loose.find("has mode 0644"), std::string::npos) << loose;
  EXPECT_NE(loose.find("chmod 600"), std::string::npos) << loose;
  // Each malformed flag names itself.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--kind", "fax", "--all"}, "--kind \"fax\""},
      {{"--kind", "email", "--from", from, "--all"}, "--smtp-url"},
      {{"--kind", "email", "--smtp-url", "http://x.example", "--from", from, "--all"}, "--smtp-url: "},
      {{"--kind", "email", "--smtp-url", url, "--from", "CoP <not an address>", "--all"}, "--from: "},
      {{"--kind", "email", "--smtp-url", url, "--from", from}, "--community ID (repeatable) or --all"},
      {{"--kind", "email", "--smtp-url", url, "--from", from, "--all", "--community", "school-nurses"}, "or --all"},
      {{"--kind", "email", "--smtp-url", url, "--from", from, "--community", "nurzes"}, "no community \"nurzes\""},
      {{"--kind", "email", "--smtp-url", url, "--from", from, "--all", "--url", "https://x.example/"}, "--url is for --kind caldav"},
      {{"--kind", "caldav", "--url", "ftp://x.example/", "--all"}, "--url: "},
      {{"--kind", "caldav", "--url", "https://u:p@x.example/", "--all"}, "user or password in it"},
      {{"--kind", "caldav", "--url", "https://x.example/", "--password-file", (dir_ / "dav.pass").string(), "--all"},
       "needs --username"},
      {{"--kind", "email", "--smtp-url", url, "--from", from, "--starttls", "--smtps", "--all"}, "not both"},
  };
  for (const auto& [flags, expected] : cases) {
    std::vector<std::string> args{"target", "add", "bad"};
    args.insert(args.end(), flags.begin(), flags.end());
    EXPECT_NE(refused(args).find(expected), std::string::npos) << expected;
  }
  EXPECT_NE(refused({"target", "add", "mail", "--kind", "email", "--smtp-url", url, "--from", from, "--all"})
                .find("already exists"),
            std::string::npos);
  EXPECT_NE(refused({"member", "set", "rosa", "--delivery", "fax"}, 2).find("--delivery"), std::string::npos);
}

TEST_F(CliSync, ServersThatAreDownOrRefuseTheLoginAreReportedAndTheOthersServed) {
  RefusingPort down;
  ok({"target", "add", "down", "--kind", "email", "--smtp-url", "smtp://127.0.0.1:" + std::to_string(down.port()),
      "--from", "CoP <cop@example.org>", "--all"});
  ok({"target", "add", "davdown", "--kind", "caldav", "--url",
      "http://127.0.0.1:" + std::to_string(down.port()) + "/cop/nurses/", "--all"});
  write_file(dir_ / "wrong.pass", "not-the-password\n");
  ::chmod((dir_ / "wrong.pass").c_str(), 0600);
  ok({"target", "add", "davlogin", "--kind", "caldav", "--url", dav_->url("/cop/nurses/"), "--username", "cop",
      "--password-file", (dir_ / "wrong.pass").string(), "--organizer", "CoP <cop@example.org>", "--all"});
  // An SMTP server that refuses the login (the same wrong password).
  std::string error;
  SmtpSinkOptions login;
  login.user = "cop";
  login.password = "dav-pw";
  const auto guarded = SmtpSink::start(dir_ / "guarded", login, error);
  ASSERT_TRUE(guarded) << error;
  ok({"target", "add", "maillogin", "--kind", "email", "--smtp-url", guarded->url(), "--from",
      "CoP <cop@example.org>", "--username", "cop", "--password-file", (dir_ / "wrong.pass").string(), "--all"});
  ok({"target", "add", "mail", "--kind", "email", "--smtp-url", sink_->url(), "--from", "CoP <cop@example.org>",
      "--all"});
  const auto r = cli({"sync"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot connect to the SMTP server"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cannot reach the CalDAV server"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused the login of user \"cop\" (401)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the SMTP server " + guarded->url() + " refused the login of user \"cop\": 535"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(guarded->messages().empty());
  EXPECT_EQ(r.out.find("not-the-password"), std::string::npos) << "never the password";
  EXPECT_EQ(new_messages().size(), 5u) << "the working target was served";
  EXPECT_NE(ok({"target", "list"}).find("down  email  every community  last sync 2026-08-20 12:00Z failed: cannot connect"),
            std::string::npos);
  // When the server is back, the next sync catches up.
  write_file(dir_ / "wrong.pass", "dav-pw\n");
  const auto again = cli({"sync", "--target", "davlogin"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(dav_objects().size(), 7u);
  const auto mail_again = cli({"sync", "--target", "maillogin"});
  EXPECT_EQ(mail_again.exit_code, 0) << mail_again.out << mail_again.err;
  EXPECT_EQ(guarded->messages().size(), 5u) << "the same five as the working target's";
}
