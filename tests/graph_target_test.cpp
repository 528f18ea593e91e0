// The Microsoft Graph target as an administrator and facilitators use it: the sample
// communities, a graph target on the Graph emulator (tests/emulators/graph.py, which
// checks every request against the OpenAPI description and keeps state as Exchange
// does), on loopback. The part-1 scenario syncing after each step; transactionId after a
// lost answer; Windows zone names; throttling (429 with Retry-After, the 4-per-mailbox
// limit); bad input, each one clear message.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "cloud_emulators.h"
#include "convene/cloud.h"
#include "convene/time.h"
#include "test_support.h"

using namespace convene::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kMailbox = "organizer@example.org";
const char* kZone = "America/New_York";

// "2027-02-10T20:00:00Z": Graph's originalStart of a New York wall time.
std::string original(const std::string& local) {
  const auto t = convene::parse_local_minute(local);
  return date::format("%FT%TZ", convene::resolve_local(*t, convene::find_zone(kZone)));
}

class GraphTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    graph_ = CloudEmulator::graph(dir_ / "graph", kMailbox, error);
    ASSERT_TRUE(graph_) << error;
    ok({"import", (source_dir() / "samples/communities-2026-27.json").string()});
    member("rosa", "Rosa Díaz", {"community:school-nurses"});
    member("ben", "Ben Ode", {"series:power-hour"});
  }
  RunResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", (dir_ / "convene.db").string(), "--as", "ana"});
    return run_cli(args, "", {{"CONVENE_NOW", "2026-08-20T12:00:00Z"}, {"CONVENE_DB", ""}, {"CONVENE_KEY_FILE", ""}});
  }
  std::string ok(const std::vector<std::string>& args) {
    const auto r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << "convene " << args[0] << ": " << r.err << r.out;
    return r.out;
  }
  std::string refused(const std::vector<std::string>& args) {
    const auto r = cli(args);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(r.err.rfind("convene: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    return r.err;
  }
  void member(const std::string& id, const std::string& name, const std::vector<std::string>& to) {
    ok({"member", "add", id, "--email", id + "@example.org", "--name", name});
    ok({"member", "set", id, "--delivery", "invite"});
    for (const auto& t : to) ok({"subscribe", id, t});
  }
  std::vector<std::string> flags(const std::string& name) {
    return {"target", "add", name, "--kind", "graph", "--tenant", "contoso-tenant", "--client-id", "convene-app",
            "--client-secret-file", graph_->client_secret().string(), "--mailbox", kMailbox, "--api-url", graph_->url(),
            "--token-url", graph_->token_url(), "--backoff-ms", "5", "--community", "school-nurses"};
  }
  void sync_ok() {
    const auto r = cli({"sync"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("not carried"), std::string::npos) << r.out;
  }
  // The events not cancelled, by subject and first start.
  std::map<std::string, json> live() {
    const json state = graph_->get("state");
    std::map<std::string, json> out;
    for (const auto& [id, e] : state["events"].items())
      if (!e["isCancelled"].get<bool>()) out[e["subject"].get<std::string>() + " " + e["start"]["dateTime"].get<std::string>().substr(0, 10)] = e;
    return out;
  }
  std::set<std::string> attendees(const json& e) {
    std::set<std::string> out;
    for (const auto& a : e["attendees"]) out.insert(a["emailAddress"]["address"]);
    return out;
  }
  // A facilitator changes a series' rule (the definitions exported, the rule replaced,
  // imported again: the way an edited definitions file comes back).
  void change_rule(const std::string& from, const std::string& to) {
    std::string defs = ok({"export"});
    const auto at = defs.find("\"" + from + "\"");
    ASSERT_NE(at, std::string::npos) << from;
    defs.replace(at + 1, from.size(), to);
    write_file(dir_ / "edited.json", defs);
    ok({"import", (dir_ / "edited.json").string()});
  }
  // The write requests from log entry `from` on whose method and path match.
  std::size_t writes_of(std::size_t from, const std::string& method, const std::string& path_end) {
    const json log = graph_->get("log");
    std::size_t n = 0;
    for (std::size_t i = from; i < log.size(); ++i) {
      const std::string path = log[i]["path"];
      if (log[i]["method"] == method && path.size() >= path_end.size() &&
          path.compare(path.size() - path_end.size(), path_end.size(), path_end) == 0)
        ++n;
    }
    return n;
  }
  // Each series' "online_meeting" set (true/false) or removed (null), as a facilitator
  // writes it in the definitions file and imports it.
  void online_meeting(const std::map<std::string, json>& choice) {
    json defs = json::parse(ok({"export"}));
    for (auto& c : defs["communities"])
      for (auto& s : c["series"])
        if (const auto it = choice.find(s["id"].get<std::string>()); it != choice.end()) {
          if (it->second.is_null()) s.erase("online_meeting");
          else s["online_meeting"] = it->second;
        }
    write_file(dir_ / "meetings.json", defs.dump(2));
    ok({"import", (dir_ / "meetings.json").string()});
  }
  void no_violations() {
    const auto v = graph_->get("violations");
    EXPECT_TRUE(v.empty()) << v.dump(1);
  }
  TempDir dir_;
  std::unique_ptr<CloudEmulator> graph_;
};

}  // namespace

TEST_F(GraphTarget, TheScenarioEndsWithOneRecurringEventPerSeries) {
  ok(flags("m365"));
  const std::string ph = "Power Hour 2026-09-09", mm = "Mentoring Monday 2026-09-21",
                    stc = "Special Topics Cafe 2026-09-24", eq = "Equity Collaborative 2026-09-04";
  sync_ok();
  auto events = live();
  ASSERT_EQ(events.size(), 4u) << json(events).dump(1).substr(0, 2000);
  for (const auto& key : {ph, mm, stc, eq}) {
    ASSERT_TRUE(events.count(key)) << key;
    EXPECT_EQ(events[key]["start"]["timeZone"], "Eastern Standard Time") << "a Windows zone name";
    EXPECT_EQ(events[key]["recurrence"]["pattern"]["type"], "relativeMonthly");
    EXPECT_EQ(events[key]["recurrence"]["range"]["type"], "endDate");
    EXPECT_FALSE(events[key]["transactionId"].get<std::string>().empty());
  }
  EXPECT_EQ(events[mm]["recurrence"]["pattern"]["index"], "third");
  EXPECT_EQ(events[stc]["recurrence"]["pattern"]["index"], "last");
  EXPECT_EQ(attendees(events[ph]), (std::set<std::string>{"ben@example.org", "rosa@example.org"}));
  // Veterans Day moved November's Power Hour a week on; the Equity Collaborative's
  // skipped first Fridays are cancelled instances.
  EXPECT_EQ(events[ph]["exceptions"][original("2026-11-11T15:00")]["start"]["dateTime"], "2026-11-18T15:00:00");
  EXPECT_EQ(events[eq]["exceptions"][original("2027-01-01T12:00")]["isCancelled"], true);

  ok({"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-11T15:00", "--reason", "Presenter's request"});
  sync_ok();
  EXPECT_EQ(live()[ph]["exceptions"][original("2027-02-10T15:00")]["start"]["dateTime"], "2027-02-11T15:00:00");

  ok({"cancel", "power-hour", "2027-03-10", "--reason", "Staff development day"});
  sync_ok();
  EXPECT_EQ(live()[ph]["exceptions"][original("2027-03-10T15:00")]["isCancelled"], true);

  ok({"close", "district", "2027-01-28", "--name", "Snow day"});
  sync_ok();
  EXPECT_EQ(live()[stc]["exceptions"][original("2027-01-28T15:30")]["start"]["dateTime"], "2027-01-27T15:30:00");

  ok({"split", "power-hour", "--from", "2027-03-01", "--start", "15:30", "--reason", "New time from March"});
  sync_ok();
  events = live();
  ASSERT_EQ(events.size(), 5u);
  const std::string cont = "Power Hour 2027-03-10";
  ASSERT_TRUE(events.count(cont)) << json(events).dump().substr(0, 1500);
  EXPECT_EQ(events[cont]["start"]["dateTime"].get<std::string>().substr(11, 5), "15:30");
  EXPECT_EQ(events[ph]["recurrence"]["range"]["endDate"].get<std::string>() < "2027-03-01", true);

  ok({"edit", "mentoring-monday", "2027-04-19", "--title", "Asthma action plans"});
  sync_ok();
  EXPECT_EQ(live()[mm]["exceptions"][original("2027-04-19T16:00")]["subject"], "Asthma action plans");

  ok({"unsubscribe", "ben", "series:power-hour"});
  sync_ok();
  events = live();
  EXPECT_EQ(attendees(events[ph]), (std::set<std::string>{"rosa@example.org"}));
  EXPECT_EQ(attendees(events[cont]), (std::set<std::string>{"rosa@example.org"}));

  const std::size_t before = graph_->get("log").size();
  EXPECT_NE(ok({"sync"}).find("target m365 (graph): nothing to do"), std::string::npos);
  EXPECT_EQ(graph_->writes(before), 0u) << "nothing to do: no write request";
  EXPECT_LE(graph_->get("stats")["max_in_flight"][kMailbox].get<int>(), 4);
  no_violations();
}

TEST_F(GraphTarget, ACreateWhoseAnswerWasLostIsNotDuplicated) {
  ok(flags("m365"));
  graph_->faults(json::array({
      {{"method", "POST"}, {"path", "/events$"}, {"status", 504}, {"mode", "apply_then_respond"}, {"times", 2}},
      {{"method", "PATCH"}, {"status", 429}, {"retry_after", "0"}, {"times", 2}},
      {{"method", "POST"}, {"path", "cancel$"}, {"status", 429}, {"times", 1}},
  }));
  sync_ok();
  EXPECT_EQ(live().size(), 4u) << "the transactionId made the retries the same create";
  EXPECT_EQ(graph_->get("state")["events"].size(), 4u);
  EXPECT_NE(ok({"sync"}).find("nothing to do"), std::string::npos);
  no_violations();
}

TEST_F(GraphTarget, BadInputIsOneClearMessage) {
  // A secret file others can read, a mailbox that does not exist, a wrong secret.
  fs::copy_file(graph_->client_secret(), dir_ / "loose.secret");
  ::chmod((dir_ / "loose.secret").c_str(), 0644);
  auto loose = flags("loose");
  loose[10] = (dir_ / "loose.secret").string();
  EXPECT_NE(refused(loose).find("has mode 0644"), std::string::npos);
  auto many = flags("many");
  many.insert(many.end(), {"--max-connections", "8"});
  EXPECT_NE(refused(many).find("at most 4"), std::string::npos);
  auto no_tenant = flags("x");
  no_tenant.erase(no_tenant.begin() + 5, no_tenant.begin() + 7);
  EXPECT_NE(refused(no_tenant).find("--tenant"), std::string::npos);

  ok(flags("m365"));
  auto missing = flags("nobody");
  missing[12] = "nobody@example.org";
  ok(missing);
  write_file(dir_ / "wrong.secret", "not-it\n");
  ::chmod((dir_ / "wrong.secret").c_str(), 0600);
  auto wrong = flags("wrong");
  wrong[10] = (dir_ / "wrong.secret").string();
  ok(wrong);
  const auto r = cli({"sync"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("the mailbox \"nobody@example.org\" does not exist"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Microsoft refused a token for the application convene-app"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("invalid_client"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("not-it"), std::string::npos) << "never the secret";
  EXPECT_EQ(live().size(), 4u) << "the good target was served";
}

TEST(GraphRecurrence, MapsTheSixPatternsAndRefusesTheRest) {
  using convene::cloud::graph_recurrence;
  const auto start = *convene::parse_local_minute("2026-09-21T16:00");  // a Monday
  std::string why;
  auto r = graph_recurrence("FREQ=MONTHLY;UNTIL=20270622T035959Z;BYDAY=3MO", start, kZone, why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ((*r)["pattern"], json({{"interval", 1}, {"type", "relativeMonthly"}, {"daysOfWeek", {"monday"}}, {"index", "third"}}));
  EXPECT_EQ((*r)["range"]["endDate"], "2027-06-21") << "UNTIL's day in New York";
  EXPECT_EQ((*r)["range"]["recurrenceTimeZone"], "Eastern Standard Time");
  EXPECT_EQ((*graph_recurrence("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", start, kZone, why))["pattern"]["type"], "weekly");
  EXPECT_EQ((*graph_recurrence("FREQ=DAILY;INTERVAL=2", start, kZone, why))["range"]["type"], "noEnd");
  EXPECT_EQ((*graph_recurrence("FREQ=MONTHLY;BYMONTHDAY=21", start, kZone, why))["pattern"]["type"], "absoluteMonthly");
  EXPECT_EQ((*graph_recurrence("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1", start, kZone, why))["pattern"]["index"], "last");
  EXPECT_EQ((*graph_recurrence("FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=21", start, kZone, why))["pattern"]["type"], "absoluteYearly");
  EXPECT_EQ((*graph_recurrence("FREQ=YEARLY;BYMONTH=9;BYDAY=3MO", start, kZone, why))["pattern"]["type"], "relativeYearly");
  EXPECT_FALSE(graph_recurrence("FREQ=YEARLY;BYWEEKNO=20", start, kZone, why));
  EXPECT_NE(why.find("BYWEEKNO"), std::string::npos);
  EXPECT_FALSE(graph_recurrence("FREQ=MONTHLY;BYDAY=2MO,4MO", start, kZone, why)) << "two indexes: no pattern";
  EXPECT_FALSE(graph_recurrence("FREQ=HOURLY", start, kZone, why));
}

TEST(WindowsZone, ComesFromIcu) {
  EXPECT_EQ(convene::cloud::windows_zone("Asia/Kolkata"), "India Standard Time");
  EXPECT_EQ(convene::cloud::windows_zone("America/New_York"), "Eastern Standard Time");
  EXPECT_EQ(convene::cloud::windows_zone("Europe/London"), "GMT Standard Time");
  EXPECT_FALSE(convene::cloud::windows_zone("Not/AZone"));
}

// Attendees' responses (issue 12, point 4) on Microsoft 365: the series' answers from the
// mailbox's events, one occurrence's from its series' /instances; reads only.
TEST_F(GraphTarget, AttendeesResponsesAreReadBackAndShownPerSession) {
  ok(flags("m365"));
  sync_ok();
  std::string ph;
  const json state = graph_->get("state");  // held: a range-for would not keep the temporary
  for (const auto& [id, e] : state["events"].items())
    if (e["subject"] == "Power Hour") ph = id;
  ASSERT_FALSE(ph.empty());
  graph_->post("respond", {{"event", ph}, {"email", "rosa@example.org"}, {"response", "accepted"}});
  graph_->post("respond", {{"event", ph}, {"email", "ben@example.org"}, {"response", "tentativelyAccepted"}});
  graph_->post("respond", {{"event", ph},
                           {"originalStart", original("2026-10-14T15:00")},
                           {"email", "ben@example.org"},
                           {"response", "declined"}});
  const std::size_t before = graph_->get("log").size();
  const auto out = ok({"sync"});
  EXPECT_NE(out.find("responses read: "), std::string::npos) << out;
  EXPECT_EQ(graph_->writes(before), 0u) << "reading responses writes nothing";
  const json a = json::parse(ok({"attendance", "power-hour", "--format", "json"}));
  std::map<std::string, std::map<std::string, std::string>> seen;
  for (const auto& s : a["sessions"])
    for (const auto& x : s["attendees"]) seen[s["occurrence_id"]][x["member"]] = x["response"];
  EXPECT_EQ(seen["2026-09-09T15:00"]["rosa"], "accepted");
  EXPECT_EQ(seen["2026-09-09T15:00"]["ben"], "tentative");
  EXPECT_EQ(seen["2026-10-14T15:00"]["ben"], "declined") << "the occurrence's own answer wins";
  EXPECT_EQ(seen["2026-11-11T15:00"]["ben"], "tentative");
  EXPECT_LE(graph_->get("stats")["max_in_flight"][kMailbox].get<int>(), 4);
  no_violations();
}

// Graph single events (issue 12, point 3): a rule outside Graph's six patterns (DC CoP
// Monthly's BYMONTH list) and a series of chosen dates (the webinars' RDATEs) go to
// Microsoft 365 as one single event per session, each created once with its own
// transactionId; the plan says so; a reschedule, a cancel and a title edit each write
// exactly that session's event.
TEST_F(GraphTarget, RulesOutsideThePatternsGoAsSingleEventsExactlyOnce) {
  member("kim", "Kim Lee", {"community:dc-sbh-cop"});
  auto f = flags("m365");
  f.back() = "dc-sbh-cop";
  ok(f);
  const auto plan = ok({"sync", "--dry-run"});
  EXPECT_NE(plan.find("note: series dc-cop-monthly: 10 single events: its rule "
                      "RRULE:FREQ=MONTHLY;BYDAY=3FR;BYMONTH=1,2,3,4,5,6,9,10,11,12;UNTIL=20270618 has no Graph pattern"),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("note: series dc-cop-webinars: 4 single events: its sessions include added dates (RDATE)"),
            std::string::npos)
      << plan;
  sync_ok();
  auto singles = [&] {
    std::map<std::string, json> out;  // subject + start -> event
    const json state = graph_->get("state");
    for (const auto& [id, e] : state["events"].items()) {
      EXPECT_EQ(e["type"], "singleInstance");
      EXPECT_FALSE(e.contains("recurrence") && !e["recurrence"].is_null());
      if (!e["isCancelled"].get<bool>())
        out[e["subject"].get<std::string>() + " " + e["start"]["dateTime"].get<std::string>().substr(0, 16)] = e;
    }
    return out;
  };
  auto events = singles();
  ASSERT_EQ(events.size(), 14u) << json(events).dump(1).substr(0, 3000);
  std::set<std::string> transactions;
  for (const auto& [key, e] : events) {
    transactions.insert(e["transactionId"].get<std::string>());
    EXPECT_EQ(attendees(e), (std::set<std::string>{"kim@example.org"})) << key;
    EXPECT_EQ(e["start"]["timeZone"], "Eastern Standard Time");
  }
  EXPECT_EQ(transactions.size(), 14u) << "one transactionId per session";
  EXPECT_TRUE(events.count("DC CoP Monthly Meeting 2026-11-20T10:00"));
  EXPECT_TRUE(events.count("DC CoP Webinar 2026-12-09T13:00"));

  std::size_t before = graph_->get("log").size();
  ok({"reschedule", "dc-cop-monthly", "2026-11-20", "--to", "2026-11-19T10:00", "--reason", "Room booked"});
  sync_ok();
  events = singles();
  EXPECT_EQ(events.size(), 14u);
  EXPECT_TRUE(events.count("DC CoP Monthly Meeting 2026-11-19T10:00"));
  EXPECT_FALSE(events.count("DC CoP Monthly Meeting 2026-11-20T10:00"));
  EXPECT_EQ(graph_->writes(before), 1u) << "that session's event, once";

  before = graph_->get("log").size();
  ok({"cancel", "dc-cop-monthly", "2027-03-19", "--reason", "Spring break"});
  sync_ok();
  events = singles();
  EXPECT_EQ(events.size(), 13u);
  EXPECT_FALSE(events.count("DC CoP Monthly Meeting 2027-03-19T10:00"));
  EXPECT_EQ(graph_->writes(before), 1u);

  before = graph_->get("log").size();
  ok({"edit", "dc-cop-webinars", "2026-12-09", "--title", "Crisis response"});
  sync_ok();
  events = singles();
  EXPECT_TRUE(events.count("Crisis response 2026-12-09T13:00"));
  EXPECT_EQ(graph_->writes(before), 1u);

  before = graph_->get("log").size();
  EXPECT_NE(ok({"sync"}).find("nothing to do"), std::string::npos);
  EXPECT_EQ(graph_->writes(before), 0u);
  EXPECT_EQ(graph_->get("state")["events"].size(), 14u) << "no event made twice";

  // Kim's answer to one webinar is read back from its own event.
  std::string webinar;
  for (const auto& [key, e] : singles())
    if (key == "Crisis response 2026-12-09T13:00") webinar = e["id"];
  graph_->post("respond", {{"event", webinar}, {"email", "kim@example.org"}, {"response", "accepted"}});
  ok({"sync"});
  const json a = json::parse(ok({"attendance", "dc-cop-webinars", "2026-12-09", "--format", "json"}));
  EXPECT_EQ(a["sessions"][0]["accepted"], 1) << a.dump(1);
  no_violations();
}

// Teams (issue 12): --teams asks Graph for a Teams meeting on each series' event
// (isOnlineMeeting with onlineMeetingProvider teamsForBusiness, the schema's enum, which
// the emulator checks) and the sync reports the join URL Graph answers.
TEST_F(GraphTarget, TeamsMeetingsAreAskedForAndTheirLinksReadBack) {
  auto f = flags("m365");
  f.push_back("--teams");
  ok(f);
  const auto out = ok({"sync"});
  const json state = graph_->get("state");
  std::size_t seen = 0;
  for (const auto& [id, e] : state["events"].items()) {
    EXPECT_EQ(e["isOnlineMeeting"], true);
    EXPECT_EQ(e["onlineMeetingProvider"], "teamsForBusiness");
    const std::string url = e["onlineMeeting"]["joinUrl"];
    EXPECT_EQ(url.rfind("https://teams.microsoft.com/l/meetup-join/", 0), 0u) << url;
    EXPECT_NE(out.find(": Teams meeting " + url), std::string::npos) << out;
    ++seen;
  }
  EXPECT_EQ(seen, 4u);
  EXPECT_NE(out.find("series power-hour: Teams meeting https://teams.microsoft.com/"), std::string::npos) << out;
  const json report = json::parse(ok({"sync", "--format", "json"}));
  EXPECT_TRUE(report["targets"][0]["links"].empty()) << "nothing new to link";
  no_violations();
}

// Issue 12, a rule that moves between a Graph pattern and none. The bug: Power Hour went
// to Microsoft 365 as one recurring event; when its rule changed to one outside the six
// patterns (two Wednesdays a month), the sync made the single events and left the
// recurring event in the mailbox beside them: every session twice in each attendee's
// calendar. Now the single events are made and the recurring event cancelled, once.
TEST_F(GraphTarget, ARuleThatLeavesThePatternsReplacesTheRecurringEventExactlyOnce) {
  ok(flags("m365"));
  sync_ok();
  std::string recurring;
  {
    const json state = graph_->get("state");
    for (const auto& [id, e] : state["events"].items())
      if (e["subject"] == "Power Hour") recurring = id;
  }
  ASSERT_FALSE(recurring.empty());

  change_rule("FREQ=MONTHLY;BYDAY=2WE;UNTIL=20270609", "FREQ=MONTHLY;BYDAY=2WE,4WE;UNTIL=20270609");
  const auto plan = ok({"sync", "--dry-run"});
  const std::string note = "note: series power-hour: ";
  const auto at = plan.find(note);
  ASSERT_NE(at, std::string::npos) << plan;
  const std::size_t sessions = std::stoul(plan.substr(at + note.size()));
  EXPECT_NE(plan.find(" single events: its rule RRULE:FREQ=MONTHLY;BYDAY=2WE,4WE;UNTIL=20270609 has no Graph pattern",
                      at),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("its recurring event is cancelled", at), std::string::npos) << plan;
  EXPECT_GT(sessions, 15u) << plan;

  std::size_t before = graph_->get("log").size();
  sync_ok();
  const json state = graph_->get("state");
  EXPECT_TRUE(state["events"][recurring]["isCancelled"].get<bool>()) << "the recurring event is gone";
  EXPECT_EQ(state["cancellations"].value(recurring, 0), 1) << "its attendees got one cancellation";
  std::set<std::string> starts;
  for (const auto& [id, e] : state["events"].items()) {
    if (e["subject"].get<std::string>().rfind("Power Hour", 0) != 0 || id == recurring) continue;
    EXPECT_FALSE(e["isCancelled"].get<bool>());
    EXPECT_EQ(e["type"], "singleInstance");
    EXPECT_EQ(attendees(e), (std::set<std::string>{"ben@example.org", "rosa@example.org"}));
    EXPECT_TRUE(starts.insert(e["start"]["dateTime"].get<std::string>()).second) << "a session twice: " << e.dump();
  }
  EXPECT_EQ(starts.size(), sessions) << "exactly the stated single events";
  EXPECT_TRUE(starts.count("2026-09-23T15:00:00")) << "a fourth Wednesday";
  EXPECT_EQ(writes_of(before, "POST", "/events"), sessions) << "each single event created once";
  EXPECT_EQ(graph_->writes(before), sessions + 1) << "the creates and the one cancel, nothing else";
  EXPECT_EQ(live().size(), 4u + sessions - 1) << "the other series untouched";

  before = graph_->get("log").size();
  EXPECT_NE(ok({"sync"}).find("nothing to do"), std::string::npos);
  EXPECT_EQ(graph_->writes(before), 0u) << "nothing to do: no write request";
  no_violations();
}

// The way back: DC CoP Monthly's rule (a BYMONTH list, no Graph pattern) went as ten
// single events; its rule changed to every third Friday, which relativeMonthly fits, so
// it becomes one recurring event and each single event is cancelled once, none left
// beside it.
TEST_F(GraphTarget, ARuleThatEntersThePatternsReplacesTheSingleEventsExactlyOnce) {
  member("kim", "Kim Lee", {"community:dc-sbh-cop"});
  auto f = flags("m365");
  f.back() = "dc-sbh-cop";
  ok(f);
  sync_ok();
  std::set<std::string> singles;
  {
    const json state = graph_->get("state");
    for (const auto& [id, e] : state["events"].items())
      if (e["subject"] == "DC CoP Monthly Meeting") singles.insert(id);
  }
  ASSERT_EQ(singles.size(), 10u);

  change_rule("FREQ=MONTHLY;BYDAY=3FR;BYMONTH=1,2,3,4,5,6,9,10,11,12;UNTIL=20270618",
              "FREQ=MONTHLY;BYDAY=3FR;UNTIL=20270618");
  const auto plan = ok({"sync", "--dry-run"});
  EXPECT_NE(plan.find("note: series dc-cop-monthly: one recurring event again (its rule fits a Graph pattern now): "
                      "its 10 single events are cancelled"),
            std::string::npos)
      << plan;

  std::size_t before = graph_->get("log").size();
  sync_ok();
  const json state = graph_->get("state");
  std::string recurring;
  for (const auto& [id, e] : state["events"].items()) {
    if (e["subject"] != "DC CoP Monthly Meeting") continue;
    if (singles.count(id)) {
      EXPECT_TRUE(e["isCancelled"].get<bool>()) << "a single event left beside the recurring one";
      EXPECT_EQ(state["cancellations"].value(id, 0), 1) << "one cancellation each";
    } else {
      EXPECT_TRUE(recurring.empty()) << "a second recurring event";
      recurring = id;
    }
  }
  ASSERT_FALSE(recurring.empty());
  const json& e = state["events"][recurring];
  EXPECT_FALSE(e["isCancelled"].get<bool>());
  EXPECT_EQ(e["recurrence"]["pattern"]["type"], "relativeMonthly");
  EXPECT_EQ(e["recurrence"]["pattern"]["index"], "third");
  EXPECT_EQ(attendees(e), (std::set<std::string>{"kim@example.org"}));
  EXPECT_EQ(writes_of(before, "POST", "/events"), 1u) << "one create";
  std::size_t skipped = 0;
  for (const auto& [at, x] : e["exceptions"].items()) skipped += x.value("isCancelled", false);
  EXPECT_EQ(writes_of(before, "POST", "/microsoft.graph.cancel"), 10u + skipped)
      << "each single event cancelled once, and the sessions the series skips";

  before = graph_->get("log").size();
  EXPECT_NE(ok({"sync"}).find("nothing to do"), std::string::npos);
  EXPECT_EQ(graph_->writes(before), 0u) << "nothing to do: no write request";
  no_violations();
}

// An online meeting asked per series (issue 12: "Meet/Teams links where asked"): on a
// target with --teams, Power Hour (silent) gets one, Mentoring Monday (online_meeting
// false) none; on a target without it, the DC CoP webinars (true) get one and the DC
// CoP monthly meeting (silent) none. The plan says which series decided; the series'
// own join link stays in the event's text; the choice survives export and import.
TEST_F(GraphTarget, OnlineMeetingsAreAskedPerSeries) {
  member("kim", "Kim Lee", {"community:dc-sbh-cop"});
  online_meeting({{"mentoring-monday", false}, {"dc-cop-webinars", true}});
  const std::string defs = ok({"export"});
  const json exported = json::parse(defs);
  std::map<std::string, json> kept;
  for (const auto& c : exported["communities"])
    for (const auto& s : c["series"]) kept[s["id"]] = s.value("online_meeting", json());
  EXPECT_EQ(kept["mentoring-monday"], false) << "kept by the store";
  EXPECT_EQ(kept["dc-cop-webinars"], true);
  EXPECT_TRUE(kept["power-hour"].is_null()) << "absent stays absent";
  write_file(dir_ / "again.json", defs);
  EXPECT_NE(ok({"import", (dir_ / "again.json").string()}).find("no changes"), std::string::npos)
      << "the export imports as the same definitions";
  EXPECT_NE(ok({"preview", "--series", "mentoring-monday"}).find("online meeting: none"),
            std::string::npos);
  EXPECT_NE(ok({"preview", "--series", "dc-cop-webinars"}).find("online meeting: yes"), std::string::npos);
  EXPECT_EQ(ok({"preview", "--series", "power-hour"}).find("online meeting"), std::string::npos) << "silent";
  EXPECT_EQ(json::parse(ok({"preview", "--series", "mentoring-monday", "--format", "json"}))["series"][0]["online_meeting"],
            false);

  auto teams = flags("m365");
  teams.push_back("--teams");
  ok(teams);
  auto plain = flags("m365-dc");
  plain.back() = "dc-sbh-cop";
  ok(plain);
  const auto plan = ok({"sync", "--dry-run"});
  EXPECT_NE(plan.find("note: series mentoring-monday: no Teams meeting (its online_meeting is false, whatever the "
                      "target's --teams)"),
            std::string::npos)
      << plan;
  EXPECT_NE(plan.find("note: series dc-cop-webinars: a Teams meeting (its online_meeting asks for one, without the "
                      "target's --teams), beside its own join link https://meet.example.org/dc-cop-webinars"),
            std::string::npos)
      << plan;
  EXPECT_EQ(plan.find("note: series power-hour: a Teams"), std::string::npos) << "the target decides: no note";
  const auto out = ok({"sync"});
  std::map<std::string, std::size_t> with, without;
  const json state = graph_->get("state");
  for (const auto& [id, e] : state["events"].items()) {
    const std::string subject = e["subject"];
    const std::string series = subject.rfind("Power Hour", 0) == 0          ? "power-hour"
                               : subject.rfind("Mentoring Monday", 0) == 0  ? "mentoring-monday"
                               : subject.rfind("DC CoP Webinar", 0) == 0 ||
                                         subject == "Crisis response"       ? "dc-cop-webinars"
                               : subject.rfind("DC CoP Monthly", 0) == 0    ? "dc-cop-monthly"
                                                                           : subject;
    if (e.value("isOnlineMeeting", false)) {
      ++with[series];
      EXPECT_EQ(e["onlineMeetingProvider"], "teamsForBusiness");
      EXPECT_NE(out.find(e["onlineMeeting"]["joinUrl"].get<std::string>()), std::string::npos) << "reported";
    } else {
      ++without[series];
      EXPECT_FALSE(e.contains("onlineMeeting")) << subject;
    }
    if (series == "dc-cop-webinars")
      EXPECT_NE(e["body"]["content"].get<std::string>().find("Join: https://meet.example.org/dc-cop-webinars"),
                std::string::npos)
          << "its own join link stays in the text";
  }
  EXPECT_EQ(with["power-hour"], 1u) << "silent: the target's --teams";
  EXPECT_EQ(without["power-hour"], 0u);
  EXPECT_EQ(with["mentoring-monday"], 0u) << "refused, whatever --teams";
  EXPECT_EQ(without["mentoring-monday"], 1u);
  EXPECT_EQ(with["dc-cop-webinars"], 4u) << "asked: each of its single events, without --teams";
  EXPECT_EQ(without["dc-cop-webinars"], 0u);
  EXPECT_EQ(with["dc-cop-monthly"], 0u) << "silent, no --teams: none";
  EXPECT_EQ(without["dc-cop-monthly"], 10u);
  EXPECT_NE(ok({"sync"}).find("nothing to do"), std::string::npos);
  no_violations();
}
