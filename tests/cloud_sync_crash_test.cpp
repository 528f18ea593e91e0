// `convene sync` to a calendar-API target killed with SIGKILL at random points, and run
// again: the calendar ends exactly as an uninterrupted sync leaves it, no event twice,
// none missing, every instance right.
//
// Two stores go through the part-1 scenario (invite, reschedule, cancel one session,
// close a snow day, split, edit a title, unsubscribe), each with a target on an emulator
// of its own. After each step the reference syncs once; the other syncs under
// `convene-testing` with CONVENE_TEST_CRASH_AFTER=N, N drawn from the fault points an
// uninterrupted sync of that step passes (store steps, SQLite writes), or with
// CONVENE_TEST_CRASH_AT=cloud.write:K (the window between a write's answer and the
// mapping's commit), several times, then once more to the end. Then both calendars are compared, event by event and instance by
// instance (what a member sees: status, times, text, attendees). "graph-singles" runs
// the DC CoP's series, whose rules have no Graph pattern, as single events: a reschedule,
// a cancel, a title edit and an unsubscribe, each session's own event exactly once.
// "graph-transition" changes Power Hour's rule out of Graph's patterns and back (the
// recurring event replaced by single events, then the single events by a recurring
// event), killed within each change of form: nothing left twice, nothing lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "cloud_emulators.h"
#include "test_support.h"

using namespace convene::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kCrashes = 50;
const std::string kCalendar = "cop-nurses@group.calendar.google.com";
const std::string kMailbox = "organizer@example.org";

struct Side {
  fs::path db;
  std::unique_ptr<CloudEmulator> emulator;

  RunResult cli(std::vector<std::string> args, std::map<std::string, std::string> env = {}, bool testing = false) const {
    args.insert(args.begin(), {"--db", db.string(), "--as", "ana"});
    env["CONVENE_NOW"] = "2026-08-20T12:00:00Z";
    env["CONVENE_DB"] = "";
    return testing ? run_cli_testing(args, "", env) : run_cli(args, "", env);
  }
};

// What members see of a calendar: each event without what only the service assigns
// (ids, which Graph chooses; sequence numbers, which retries raise), sorted.
json seen(const CloudEmulator& emulator) {
  const json state = emulator.get("state");
  json out = json::array();
  for (const auto& [id, e] : state["events"].items()) {
    json x = e;
    for (const char* k : {"id", "iCalUID", "iCalUId", "sequence", "transactionId", "etag", "updated"}) x.erase(k);
    for (auto& a : x["attendees"]) a.erase("status"), a.erase("responseStatus");
    out.push_back(x);
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
  return out;
}

class CloudSyncCrash : public ::testing::TestWithParam<std::string> {
 protected:
  bool singles() const { return GetParam() == "graph-singles"; }
  bool transition() const { return GetParam() == "graph-transition"; }
  std::string community() const { return singles() ? "dc-sbh-cop" : "school-nurses"; }

  void SetUp() override {
    for (auto* side : {&reference_, &crashing_}) {
      const std::string name = side == &reference_ ? "reference" : "crashing";
      std::string error;
      side->emulator = GetParam() == "google" ? CloudEmulator::google(dir_ / (name + "-google"), kCalendar, error)
                                              : CloudEmulator::graph(dir_ / (name + "-graph"), kMailbox, error);
      const std::string c = "community:" + community(), one = singles() ? "series:dc-cop-webinars" : "series:power-hour";
      ASSERT_TRUE(side->emulator) << error;
      side->db = dir_ / (name + ".db");
      ASSERT_EQ(side->cli({"import", (source_dir() / "samples/communities-2026-27.json").string()}).exit_code, 0);
      for (const auto& [id, to] : std::vector<std::pair<std::string, std::string>>{
               {"rosa", c}, {"ben", one}, {"cy", c}}) {
        ASSERT_EQ(side->cli({"member", "add", id, "--email", id + "@example.org"}).exit_code, 0);
        ASSERT_EQ(side->cli({"member", "set", id, "--delivery", "invite"}).exit_code, 0);
        ASSERT_EQ(side->cli({"subscribe", id, to}).exit_code, 0);
      }
      const auto& g = *side->emulator;
      const auto added =
          GetParam() == "google"
              ? side->cli({"target", "add", "t", "--kind", "google", "--calendar-id", kCalendar, "--credentials-file",
                           g.credentials().string(), "--api-url", g.url(), "--token-url", g.token_url(),
                           "--max-connections", "2", "--community", community()})
              : side->cli({"target", "add", "t", "--kind", "graph", "--tenant", "contoso-tenant", "--client-id",
                           "convene-app", "--client-secret-file", g.client_secret().string(), "--mailbox", kMailbox,
                           "--api-url", g.url(), "--token-url", g.token_url(), "--max-connections", "2",
                           "--community", community()});
      ASSERT_EQ(added.exit_code, 0) << added.err;
    }
  }

  // {"rule", FROM, TO}: the definitions exported, the rule FROM replaced by TO, imported.
  static void change_rule(const Side& side, const fs::path& file, const std::string& from, const std::string& to) {
    std::string defs = side.cli({"export"}).out;
    const auto at = defs.find("\"" + from + "\"");
    ASSERT_NE(at, std::string::npos) << from;
    defs.replace(at + 1, from.size(), to);
    write_file(file, defs);
    const auto r = side.cli({"import", file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void step(const std::vector<std::string>& change, int kills) {
    SCOPED_TRACE(change.empty() ? "invite" : change[0]);
    for (auto* side : {&reference_, &crashing_})
      if (!change.empty() && change[0] == "rule") change_rule(*side, dir_ / "edited.json", change[1], change[2]);
      else if (!change.empty()) ASSERT_EQ(side->cli(change).exit_code, 0) << side->cli(change).err;
    const fs::path steps = dir_ / "steps";
    const std::size_t logged = reference_.emulator->get("log").size();
    const auto ref = reference_.cli({"sync"}, {{"CONVENE_TEST_STEPS_FILE", steps.string()}}, true);
    ASSERT_EQ(ref.exit_code, 0) << ref.out << ref.err;
    const long points = std::stol(read_file(steps));
    const long writes = long(reference_.emulator->writes(logged));
    ASSERT_GT(points, 0);
    ASSERT_GT(writes, 0);
    std::uniform_int_distribution<long> at(1, points), at_write(1, writes);
    for (int k = 0; k < kills; ++k) {
      // Every other kill lands exactly in the window between a write's answer and the
      // mapping's commit (the K-th "cloud.write"); the rest anywhere.
      const auto r = k % 2 ? crashing_.cli({"sync"}, {{"CONVENE_TEST_CRASH_AFTER", std::to_string(at(rng_))}}, true)
                           : crashing_.cli({"sync"}, {{"CONVENE_TEST_CRASH_AT", "cloud.write:" + std::to_string(at_write(rng_))}}, true);
      const long n = k;
      EXPECT_TRUE(r.exit_code == 128 + 9 || r.exit_code == 0) << n << ": " << r.exit_code << r.out << r.err;
      crashed_ += r.exit_code == 128 + 9;
    }
    const auto last = crashing_.cli({"sync"}, {}, true);
    ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
    EXPECT_NE(crashing_.cli({"sync"}).out.find("nothing to do"), std::string::npos) << "converged";
    EXPECT_EQ(seen(*crashing_.emulator), seen(*reference_.emulator)) << "the same events and instances";
    for (auto* side : {&reference_, &crashing_}) EXPECT_TRUE(side->emulator->get("violations").empty());
  }

  TempDir dir_;
  Side reference_, crashing_;
  std::mt19937 rng_{20270210};
  int crashed_ = 0;
};

}  // namespace

TEST_P(CloudSyncCrash, KilledAtRandomPointsConvergesExactlyOnce) {
  const std::vector<std::vector<std::string>> single_changes = {
      {},
      {"reschedule", "dc-cop-monthly", "2026-11-20", "--to", "2026-11-19T10:00", "--reason", "Room booked"},
      {"cancel", "dc-cop-monthly", "2027-03-19", "--reason", "Spring break"},
      {"edit", "dc-cop-webinars", "2026-12-09", "--title", "Crisis response"},
      {"unsubscribe", "ben", "series:dc-cop-webinars"},
  };
  const std::vector<std::vector<std::string>> pattern_changes = {
      {},
      {"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-11T15:00", "--reason", "Presenter's request"},
      {"cancel", "power-hour", "2027-03-10", "--reason", "Staff development day"},
      {"close", "district", "2027-01-28", "--name", "Snow day"},
      {"split", "power-hour", "--from", "2027-03-01", "--start", "15:30"},
      {"edit", "mentoring-monday", "2027-04-19", "--title", "Asthma action plans"},
      {"unsubscribe", "ben", "series:power-hour"},
  };
  // Some runs finish before their point (a rerun has less left to do): 10 a step leaves
  // room for those and still kills at least kCrashes times.
  const std::string ph = "FREQ=MONTHLY;BYDAY=2WE;UNTIL=20270609", twice = "FREQ=MONTHLY;BYDAY=2WE,4WE;UNTIL=20270609";
  const std::vector<std::vector<std::string>> transition_changes = {{}, {"rule", ph, twice}, {"rule", twice, ph}};
  const auto& changes = singles() ? single_changes : transition() ? transition_changes : pattern_changes;
  const int per_step = singles() ? 16 : transition() ? 12 : 10;
  for (const auto& change : changes) {
    step(change, transition() && change.empty() ? 4 : per_step);
    if (HasFatalFailure()) return;
  }
  // The transition's kills are in its two changes of form (12 runs each, most killed).
  EXPECT_GE(crashed_, transition() ? 18 : kCrashes) << "runs in fact killed";
  RecordProperty("kills", crashed_);
  std::cout << GetParam() << ": " << crashed_ << " kills\n";
}

INSTANTIATE_TEST_SUITE_P(CloudTargets, CloudSyncCrash, ::testing::Values("google", "graph", "graph-singles", "graph-transition"));
