// The reminder planner (convene/reminder_plan.h): a real store, a simulated clock, and
// an outbox kept by the test (a map by key, which is what the store's outbox keeps), so
// each rule is checked on what would be sent, at what minute, and how often.
#include "convene/reminder_plan.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "convene/schedule.h"
#include "convene/store.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }

ChangeContext as(const char* actor, const char* reason = nullptr) {
  ChangeContext c;
  c.actor = actor;
  if (reason) c.reason = reason;
  return c;
}

Definitions week_definitions() {
  auto loaded = load_definitions((testing::source_dir() / "tests/data/remind/week.json").string());
  EXPECT_TRUE(loaded.ok());
  return *loaded.definitions;
}

// A state of the outbox as the test keeps it: every message ever planned, by key.
struct Row {
  PlannedMessage message;
  enum class State { planned, sent, withdrawn } state = State::planned;
  Instant sent_at{};
  std::string withdrawn_because;
};
using Outbox = std::map<std::string, Row>;

std::vector<PendingMessage> pending_of(const Outbox& outbox) {
  std::vector<PendingMessage> out;
  for (const auto& [key, row] : outbox) {
    if (row.state != Row::State::planned) continue;
    const auto& m = row.message;
    out.push_back({key, m.kind, m.member, m.series, m.occurrence, m.session_start});
  }
  return out;
}

struct World {
  TempDir dir;
  SimulatedClock clock{at("2027-01-25T09:00:00Z")};
  std::unique_ptr<Store> store;
  std::vector<CommunityChannel> channels;
  std::map<std::string, Seconds, std::less<>> horizons;

  World() {
    StoreOptions o;
    o.path = (dir / "convene.db").string();
    o.clock = &clock;
    store = Store::open(o);
    store->import_definitions(week_definitions(), as("ana"));
  }

  void add(const std::string& id, std::vector<Subscription> follows, std::vector<Seconds> offsets = {},
           std::string channel = "email", std::optional<std::string> zone = std::nullopt) {
    MemberSpec spec;
    spec.id = id;
    spec.name = "Member " + id;
    spec.email = id + "@schools.example.org";
    spec.timezone = std::move(zone);
    spec.reminders.offsets = std::move(offsets);
    spec.reminders.channel = std::move(channel);
    store->add_member(spec, as("ana"));
    for (const auto& s : follows) store->subscribe(id, s, as("ana"));
  }

  // The planner's input from the store as it is now (what the worker reads each pass).
  ReminderPlan plan(const Outbox& outbox) const {
    const StoreSnapshot snapshot = store->snapshot();
    ReminderPlanInput in;
    in.definitions = &*snapshot.definitions.definitions;
    in.revisions = snapshot.revisions;
    for (auto& m : store->members()) in.followers.push_back({m, store->subscribed_series(m.id)});
    for (auto& r : store->history())
      if (r.at >= clock.now() - kNoticeLookback) in.changes.push_back(std::move(r));
    in.pending = pending_of(outbox);
    in.community_channels = channels;
    in.notice_horizons = horizons;
    in.now = clock.now();
    return plan_reminders(in);
  }
};

// Writes a plan into the outbox (new keys only: planning twice never makes two).
void write_plan(const ReminderPlan& plan, Outbox& outbox) {
  for (const auto& m : plan.messages) outbox.try_emplace(m.key, Row{m});
  for (const auto& w : plan.withdrawals) {
    auto& row = outbox.at(w.key);
    if (row.state != Row::State::planned) continue;
    row.state = Row::State::withdrawn;
    row.withdrawn_because = w.reason;
  }
}

const Subscription nurses{Subscription::Kind::community, "nurses"};
Subscription series(const char* id) { return {Subscription::Kind::series, id}; }

TEST(ReminderPlan, PlansEachOffsetOfEachFollowedSessionOnce) {
  World w;
  w.add("ana", {series("mentoring-monday")});
  w.add("ben", {series("mentoring-monday")}, {std::chrono::hours{2}});
  w.clock.set(at("2027-01-30T12:00:00Z"));
  const auto plan = w.plan({});
  std::vector<std::pair<std::string, Instant>> got;
  for (const auto& m : plan.messages) got.emplace_back(m.key, m.due);
  // Monday 1 February 16:00 EST is 21:00Z; ana has the series' PT15M and P1D, ben PT2H.
  const std::vector<std::pair<std::string, Instant>> want = {
      {"reminder/ana/mentoring-monday/2027-02-01T16:00/P1D/20270201T2100Z", at("2027-01-31T21:00:00Z")},
      {"reminder/ben/mentoring-monday/2027-02-01T16:00/PT2H/20270201T2100Z", at("2027-02-01T19:00:00Z")},
      {"reminder/ana/mentoring-monday/2027-02-01T16:00/PT15M/20270201T2100Z", at("2027-02-01T20:45:00Z")},
  };
  EXPECT_EQ(got, want);
  // Next week's P1D (due 2027-02-07T21:00Z) enters the lookahead 8 days before it is due.
  EXPECT_EQ(plan.next_wake, at("2027-01-30T21:00:00Z"));
  EXPECT_EQ(w.plan({}).messages, plan.messages) << "the same state and clock give the same plan";
}

TEST(ReminderPlan, NothingForMembersWhoTurnedRemindersOffOrJoinedAfterTheDueTime) {
  World w;
  w.add("off", {nurses}, {}, "none");
  w.clock.set(at("2027-02-01T20:50:00Z"));  // 10 minutes before Mentoring Monday
  w.add("late", {series("mentoring-monday")});
  const auto plan = w.plan({});
  for (const auto& m : plan.messages) {
    EXPECT_NE(m.member, "off") << m.key;
    // cal.com #10749: a reminder sent at booking time. PT15M was due before "late" joined.
    EXPECT_NE(m.key, "reminder/late/mentoring-monday/2027-02-01T16:00/PT15M/20270201T2100Z");
  }
  EXPECT_FALSE(plan.messages.empty());
}

TEST(ReminderPlan, DispatchRuleSendsOnTimeLateOrDrops) {
  const Instant due = at("2027-02-01T20:45:00Z"), start = at("2027-02-01T21:00:00Z");
  struct Case {
    Instant now;
    Dispatch want;
  };
  const Case cases[] = {
      {due - 1s, Dispatch::wait},
      {due, Dispatch::send},
      {due + kLateAfter, Dispatch::send},
      {due + kLateAfter + 1s, Dispatch::send_late},
      {start - 1s, Dispatch::send_late},
      {start, Dispatch::drop},
      {start + 1h, Dispatch::drop},
  };
  for (const auto& c : cases)
    EXPECT_EQ(dispatch_rule(MessageKind::reminder, due, start, c.now), c.want) << date::format("%FT%TZ", c.now);
}

TEST(ReminderPlan, CatchesUpAfterDowntimeAndDropsSessionsThatStarted) {
  World w;
  w.add("ana", {series("daily-huddle"), series("mentoring-monday")});
  Outbox outbox;
  w.clock.set(at("2027-02-01T09:00:00Z"));
  write_plan(w.plan(outbox), outbox);
  // The worker was down from Monday 09:00Z to Tuesday 13:25Z. Monday's sessions have
  // started: their reminders are dropped, each with a log line. Tuesday's huddle (13:30Z)
  // has not: its PT10M reminder, due at 13:20Z, goes out late.
  w.clock.set(at("2027-02-02T13:25:00Z"));
  const auto plan = w.plan(outbox);
  const std::string mm = "reminder/ana/mentoring-monday/2027-02-01T16:00/PT15M/20270201T2100Z";
  const std::string huddle = "reminder/ana/daily-huddle/2027-02-02T08:30/PT10M/20270202T1330Z";
  ASSERT_EQ(outbox.at(mm).state, Row::State::planned);
  std::map<std::string, std::string> why;
  for (const auto& wd : plan.withdrawals) why[wd.key] = wd.reason;
  EXPECT_EQ(why[mm], "the session started at 2027-02-01T21:00:00Z");
  EXPECT_FALSE(why.contains(huddle));
  EXPECT_EQ(plan.log, (std::vector<std::string>{
                          "dropped reminder/ana/daily-huddle/2027-02-01T08:30/PT10M/20270201T1330Z: the session started at 2027-02-01T13:30:00Z",
                          "dropped reminder/ana/mentoring-monday/2027-02-01T16:00/P1D/20270201T2100Z: the session started at 2027-02-01T21:00:00Z",
                          "dropped " + mm + ": the session started at 2027-02-01T21:00:00Z"}));
  const auto& late = outbox.at(huddle).message;
  EXPECT_EQ(late.due, at("2027-02-02T13:20:00Z"));
  EXPECT_EQ(dispatch_rule(late.kind, late.due, late.session_start, w.clock.now()), Dispatch::send_late);
}

TEST(ReminderPlan, WithdrawsWaitingRemindersAndSaysWhy) {
  World w;
  w.add("ana", {series("power-hour")});
  w.add("ben", {series("power-hour")});
  w.add("cy", {series("power-hour")});
  w.add("dee", {series("mentoring-monday")});
  Outbox outbox;
  w.clock.set(at("2027-02-01T09:00:00Z"));
  write_plan(w.plan(outbox), outbox);
  w.store->remove_member("ben", as("ana"));
  w.store->unsubscribe("cy", series("power-hour"), as("ana"));
  w.store->cancel("power-hour", lt("2027-02-03T15:00"), as("ana", "Facilitator out sick"));
  w.store->reschedule("mentoring-monday", lt("2027-02-01T16:00"), lt("2027-02-02T17:00"), std::nullopt,
                      as("ana", "Presenter's request"));
  std::map<std::string, std::string> why;
  for (const auto& wd : w.plan(outbox).withdrawals) why[wd.key] = wd.reason;
  EXPECT_EQ(why["reminder/ana/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z"], "the session was cancelled");
  EXPECT_EQ(why["reminder/ben/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z"], "the member was removed");
  EXPECT_EQ(why["reminder/cy/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z"],
            "the member no longer follows power-hour");
  EXPECT_EQ(why["reminder/dee/mentoring-monday/2027-02-01T16:00/PT15M/20270201T2100Z"],
            "the session moved to 2027-02-02T17:00:00-05:00");
  EXPECT_EQ(why.size(), 5u) << "dee's P1D for the old time too, nothing else";
}

TEST(ReminderPlan, NoticesStayWithinTheHorizon) {
  World w;
  w.add("ana", {series("power-hour")});
  w.clock.set(at("2027-02-01T09:00:00Z"));
  w.store->cancel("power-hour", lt("2027-02-10T15:00"), as("ana"));  // 9 days ahead
  w.store->cancel("power-hour", lt("2027-03-03T15:00"), as("ana"));  // 30 days ahead
  auto notices = [&] {
    std::vector<std::string> out;
    for (const auto& m : w.plan({}).messages)
      if (m.kind == MessageKind::notice)
        for (const auto& s : m.sessions) out.push_back(format_local_minute(s.occurrence));
    return out;
  };
  EXPECT_EQ(notices(), std::vector<std::string>{"2027-02-10T15:00"});
  w.horizons["nurses"] = std::chrono::days{31};
  EXPECT_EQ(notices(), (std::vector<std::string>{"2027-02-10T15:00", "2027-03-03T15:00"}));
}

TEST(ReminderPlan, ACommunityChannelGetsRemindersAndNotices) {
  World w;
  w.channels.push_back({"nurses-slack", "nurses", {std::chrono::minutes{15}}});
  w.clock.set(at("2027-02-03T09:00:00Z"));
  w.store->reschedule("power-hour", lt("2027-02-03T15:00"), lt("2027-02-03T16:00"), std::nullopt, as("ana"));
  std::vector<std::string> keys;
  for (const auto& m : w.plan({}).messages)
    if (m.due < at("2027-02-03T23:00:00Z")) keys.push_back(m.key);
  const auto id = std::to_string(w.store->history({.limit = 1}).front().id);
  EXPECT_EQ(keys, (std::vector<std::string>{"notice-community/nurses-slack/c" + id,
                                            "community/nurses-slack/daily-huddle/2027-02-03T08:30/PT15M/20270203T1330Z",
                                            "community/nurses-slack/power-hour/2027-02-03T15:00/PT15M/20270203T2100Z"}));
}

// ---------------------------------------------------------------------------------------
// A week of a 300-member community: reschedules, a cancellation, a snow-day closure and
// a split, driven by a simulated clock that jumps from one due time (or change) to the
// next. Every reminder and notice must be sent exactly once, at its minute, and nothing
// for a cancelled session or at an old time.

using Sent = std::tuple<std::string, std::string, LocalTime, Seconds, Instant>;  // member, series, session, offset, due

// The reminders `follows` earns from `defs`, for sessions starting after `from`, due in
// [since(session), to].
std::multiset<Sent> reminders_of(const Definitions& defs, const std::map<std::string, Follower>& follows, Instant from,
                                 Instant to, const std::function<Instant(const Occurrence&)>& since,
                                 const std::function<Instant(const Occurrence&)>& before) {
  std::multiset<Sent> out;
  for (const auto& o : expand(defs, {LocalDay{date::year{2027} / 1 / 20}, LocalDay{date::year{2027} / 2 / 20}})) {
    if (!o.live() || *o.start <= from) continue;
    for (const auto& [id, f] : follows) {
      if (f.member.reminders.channel == "none") continue;
      if (std::find(f.series.begin(), f.series.end(), o.series->id) == f.series.end()) continue;
      for (auto offset : f.member.reminders.offsets.empty() ? o.series->reminders : f.member.reminders.offsets) {
        const Instant due = *o.start - offset;
        if (due >= since(o) && due < before(o) && due <= to) out.insert({id, o.series->id, o.original, offset, due});
      }
    }
  }
  return out;
}

std::map<std::string, Follower> follows_of(const Store& store) {
  std::map<std::string, Follower> out;
  for (auto& m : store.members()) out[m.id] = {m, store.subscribed_series(m.id)};
  return out;
}

TEST(ReminderPlan, AWeekOfChangesForThreeHundredMembersSendsEachMessageOnceOnTime) {
  World w;
  const Instant t0 = w.clock.now(), end = at("2027-02-08T00:00:00Z");
  for (int i = 0; i < 300; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "m%03d", i);
    if (i < 100) w.add(id, {nurses});
    else if (i < 200) w.add(id, {series("power-hour")}, {30min});
    else if (i < 250) w.add(id, {series("mentoring-monday"), series("daily-huddle")});
    else if (i < 280) w.add(id, {nurses}, {}, "none");
    else w.add(id, {series("daily-huddle")}, {1h, 5min}, "email", "Europe/London");
  }
  const Definitions before_defs = *w.store->load().definitions;
  const auto before_follows = follows_of(*w.store);

  struct Event {
    Instant at;
    std::function<void()> apply;
  };
  const Instant moved = at("2027-02-01T10:00:00Z"), cancelled = at("2027-02-02T12:00:00Z"),
                closed = at("2027-02-03T11:00:00Z"), split = at("2027-02-04T12:00:00Z");
  std::vector<Event> events = {
      {moved, [&] { w.store->reschedule("mentoring-monday", lt("2027-02-01T16:00"), lt("2027-02-02T17:00"), std::nullopt, as("ana", "Presenter's request")); }},
      {cancelled, [&] { w.store->cancel("power-hour", lt("2027-02-03T15:00"), as("ana", "Facilitator out sick")); }},
      {closed, [&] { w.store->close("district", {"Snow day", LocalDay{date::year{2027} / 2 / 4}, LocalDay{date::year{2027} / 2 / 4}}, as("ana")); }},
      {split, [&] {
         SplitSpec spec{.from = LocalDay{date::year{2027} / 2 / 5}};
         spec.time_of_day = 9h;
         w.store->split("daily-huddle", spec, as("ana", "Later start for the spring"));
       }},
  };

  Outbox outbox;
  std::vector<Row> deliveries;
  std::size_t next_event = 0;
  for (Instant now = t0; now <= end;) {
    w.clock.set(now);
    while (next_event < events.size() && events[next_event].at <= now) events[next_event++].apply();
    const auto plan = w.plan(outbox);
    write_plan(plan, outbox);
    std::optional<Instant> next = plan.next_wake;
    const auto wake = [&](Instant t) { if (t > now && (!next || t < *next)) next = t; };
    for (auto& [key, row] : outbox) {
      if (row.state != Row::State::planned) continue;
      switch (dispatch_rule(row.message.kind, row.message.due, row.message.session_start, now)) {
        case Dispatch::wait: wake(row.message.due); break;
        case Dispatch::send:
          row.state = Row::State::sent;
          row.sent_at = now;
          deliveries.push_back(row);
          break;
        case Dispatch::send_late: ADD_FAILURE() << key << " sent late in a simulation that never sleeps past a due time"; break;
        case Dispatch::drop: ADD_FAILURE() << key << " dropped"; break;
      }
    }
    if (next_event < events.size()) wake(events[next_event].at);
    if (!next) break;
    now = *next;
  }
  ASSERT_EQ(next_event, events.size());

  // What the oracle expects: the reminders of the week as it was planned, due before the
  // change that touched their session, and those of the week as it ended, due after the
  // session took its final form (or after the start, for the others).
  const Definitions after_defs = *w.store->load().definitions;
  const auto after_follows = follows_of(*w.store);
  const auto changed_at = [&](const std::string& series, LocalTime original) -> std::optional<Instant> {
    if (series == "mentoring-monday" && original == lt("2027-02-01T16:00")) return moved;
    if (series == "power-hour" && original == lt("2027-02-03T15:00")) return cancelled;
    if (series == "daily-huddle" && original == lt("2027-02-04T08:30")) return closed;
    if (series == "daily-huddle" && original >= lt("2027-02-05T00:00")) return split;
    if (series == "daily-huddle-from-2027-02-05") return split;
    return std::nullopt;
  };
  const auto never = Instant::max();
  auto expected = reminders_of(
      before_defs, before_follows, t0, end, [&](const Occurrence&) { return t0; },
      [&](const Occurrence& o) { return changed_at(o.series->id, o.original).value_or(never); });
  for (const auto& s : reminders_of(
           after_defs, after_follows, t0, end,
           [&](const Occurrence& o) { return changed_at(o.series->id, o.original).value_or(t0); },
           [&](const Occurrence&) { return never; }))
    if (!expected.contains(s)) expected.insert(s);

  std::multiset<Sent> reminders;
  std::map<std::uint64_t, std::multiset<std::string>> notices;  // by change: members told
  for (const auto& row : deliveries) {
    const auto& m = row.message;
    EXPECT_EQ(row.sent_at, m.due) << m.key;
    if (m.kind == MessageKind::reminder) {
      reminders.insert({m.member, m.series, m.occurrence, *m.offset, m.due});
      EXPECT_LT(row.sent_at, m.session_start) << m.key;
      EXPECT_FALSE(m.series == "power-hour" && m.occurrence == lt("2027-02-03T15:00")) << "cancelled: " << m.key;
      EXPECT_FALSE(m.session_start == at("2027-02-01T21:00:00Z") && row.sent_at > moved) << "old time: " << m.key;
    } else {
      notices[m.change].insert(m.member);
    }
  }
  EXPECT_EQ(reminders, expected);
  EXPECT_GT(expected.size(), 2500u);

  // One notice per follower per change, each saying what happened to each session.
  const auto records = w.store->history();
  std::map<std::string, std::uint64_t> change_of;
  for (const auto& r : records) change_of[r.action] = r.id;
  const auto members_of = [](int from, int to) {
    std::multiset<std::string> out;
    for (int i = from; i < to; ++i) {
      char id[8];
      std::snprintf(id, sizeof id, "m%03d", i);
      out.insert(id);
    }
    return out;
  };
  auto huddle = members_of(0, 100);
  for (const auto& m : members_of(200, 250)) huddle.insert(m);
  for (const auto& m : members_of(280, 300)) huddle.insert(m);
  auto mentoring = members_of(0, 100);
  for (const auto& m : members_of(200, 250)) mentoring.insert(m);
  auto power = members_of(0, 200);
  EXPECT_EQ(notices[change_of["reschedule"]], mentoring);
  EXPECT_EQ(notices[change_of["cancel"]], power);
  EXPECT_EQ(notices[change_of["close"]], huddle);
  EXPECT_EQ(notices[change_of["split"]], huddle);
  EXPECT_EQ(notices.size(), 4u);

  for (const auto& row : deliveries) {
    const auto& m = row.message;
    if (m.kind != MessageKind::notice || m.member != "m000") continue;
    if (m.action == "reschedule") {
      ASSERT_EQ(m.sessions.size(), 1u);
      EXPECT_EQ(m.sessions[0].kind, NoticeKind::moved);
      EXPECT_EQ(m.sessions[0].start, at("2027-02-02T22:00:00Z"));
      EXPECT_EQ(m.reason, "Presenter's request");
    } else if (m.action == "cancel") {
      ASSERT_EQ(m.sessions.size(), 1u);
      EXPECT_EQ(m.sessions[0].kind, NoticeKind::cancelled);
    } else if (m.action == "close") {
      ASSERT_EQ(m.sessions.size(), 1u);
      EXPECT_EQ(m.sessions[0].kind, NoticeKind::closed);
      EXPECT_NE(m.sessions[0].why.find("Snow day"), std::string::npos) << m.sessions[0].why;
    } else {
      // The split moves every huddle of the next 14 days from 08:30 to 09:00: 9 weekdays
      // from Friday 5 February, in one notice.
      ASSERT_EQ(m.sessions.size(), 9u);
      for (const auto& s : m.sessions) {
        EXPECT_EQ(s.kind, NoticeKind::moved);
        EXPECT_EQ(s.shown_series, "daily-huddle-from-2027-02-05");
        EXPECT_EQ(s.start - s.was, 30min);
      }
    }
  }
  // Nobody who turned reminders off was told anything.
  for (const auto& row : deliveries) EXPECT_FALSE(row.message.member >= "m250" && row.message.member < "m280");
}

}  // namespace
}  // namespace convene
