// The reminder worker (convene/remind.h: Worker, StoreWatch, `convene worker`): passes
// whenever there is work, asleep in between. The simulated tests run the real worker on a
// real store and a real SMTP server (python3-aiosmtpd), with a scripted Waiter that moves
// a SimulatedClock to each wake the worker asks for (and applies the facilitators'
// changes at their times, as another process would): a week passes without a sleep.
#include "convene/remind.h"

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "convene/invite.h"
#include "convene/mail.h"
#include "convene/store.h"
#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

using namespace convene::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using State = OutboxMessage::State;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }
std::string utc(Instant t) { return date::format("%FT%TZ", t); }

// Moves the clock to each wake the worker asks for; applies each scripted change at its
// time instead (Wake::changed, as inotify would say); says stop once `end` is passed.
class ScriptedWaiter final : public remind::Waiter {
 public:
  ScriptedWaiter(SimulatedClock& clock, Instant end) : clock_(clock), end_(end) {}
  void on(Instant when, std::function<void()> change) {
    events_.insert({when, std::move(change)});
  }
  remind::Wake wait(Instant until) override {
    wakes.push_back(until);
    if (!events_.empty() && events_.begin()->first <= until) {
      auto node = events_.extract(events_.begin());
      if (node.key() > clock_.now()) clock_.set(node.key());
      node.mapped()();
      return remind::Wake::changed;
    }
    if (until > end_) {
      stop_ = true;
      return remind::Wake::stop;
    }
    clock_.set(std::max(until, clock_.now()));
    return remind::Wake::time;
  }
  bool stop_requested() const override { return stop_; }
  std::vector<Instant> wakes;

 private:
  SimulatedClock& clock_;
  Instant end_;
  std::multimap<Instant, std::function<void()>> events_;
  bool stop_ = false;
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { start_sink({}); }

  void start_sink(SmtpSinkOptions options) {
    std::string error;
    sink_ = SmtpSink::start(dir_ / ("sink" + std::to_string(++sinks_)), options, error);
    ASSERT_TRUE(sink_) << error;
    store_ = open(clock_);
    if (store_->empty()) {
      auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
      ASSERT_TRUE(loaded.ok());
      store_->import_definitions(*loaded.definitions, as_);
    } else {
      store_->remove_target("mail", as_);
    }
    TargetSpec t;
    t.name = "mail";
    t.kind = TargetKind::email;
    invite::EmailSettings s;
    s.smtp_url = sink_->url();
    s.from = {"School Nurse CoP", "cop@example.org"};
    t.settings = invite::to_json(s).dump();
    store_->add_target(t, as_);
  }

  std::unique_ptr<Store> open(const Clock& clock) const {
    StoreOptions o;
    o.path = path_;
    o.clock = &clock;
    return Store::open(o);
  }

  void add_member(const std::string& id, Subscription to, std::vector<Seconds> offsets = {}) {
    MemberSpec spec;
    spec.id = id;
    spec.name = "Member " + id;
    spec.email = id + "@example.org";
    spec.reminders.offsets = offsets;
    store_->add_member(spec, as_);
    store_->subscribe(id, to, as_);
  }

  // Runs the worker from the clock's now until `waiter`'s end; returns its log.
  std::vector<std::string> run(ScriptedWaiter& waiter) {
    std::vector<std::string> log;
    remind::WorkerOptions options;
    options.log = [&](const std::string& line) { log.push_back(line); };
    remind::Worker worker(*store_, clock_, waiter, options);
    passes_ = worker.run();
    return log;
  }

  // Message-ID -> how many times the sink received it.
  std::map<std::string, int> received() const {
    std::map<std::string, int> out;
    for (const auto& eml : sink_->messages()) {
      const std::string data = read_file(eml);
      const auto from = data.find("\r\nMessage-ID: ");
      EXPECT_NE(from, std::string::npos);
      ++out[data.substr(from + 14, data.find("\r\n", from + 2) - from - 14)];
    }
    return out;
  }

  static bool has_line(const std::vector<std::string>& log, const std::string& start) {
    return std::any_of(log.begin(), log.end(), [&](const auto& l) { return l.rfind(start, 0) == 0; });
  }

  TempDir dir_;
  std::string path_ = (dir_ / "convene.db").string();
  SimulatedClock clock_{at("2027-01-25T09:00:00Z")};
  ChangeContext as_{.actor = "ana"};
  std::unique_ptr<SmtpSink> sink_;
  int sinks_ = 0;
  std::unique_ptr<Store> store_;
  std::size_t passes_ = 0;
};

// A week of a community through a reschedule, a cancellation, a snow-day closure, a split
// and a member removed while reminders were planned for them, each made by another
// process at its time: every message the outbox says was sent arrived once, at its due
// minute; nothing for the cancelled session, nothing at the old time, nothing for the
// removed member after they left; a notice per follower per change; and the worker woke
// only when there was work (a few hundred wakes, not one a minute).
TEST_F(WorkerTest, AWeekOfChangesSendsEachMessageOnceAtItsMinute) {
  for (int i = 0; i < 24; ++i) {
    const std::string id = "m" + std::to_string(100 + i);
    if (i < 8) add_member(id, {Subscription::Kind::community, "nurses"});
    else if (i < 16) add_member(id, {Subscription::Kind::series, "power-hour"}, {30min});
    else add_member(id, {Subscription::Kind::series, "daily-huddle"}, {1h, 5min});
  }
  auto other = open(clock_);  // the facilitators' process
  const Instant moved = at("2027-02-01T10:00:00Z"), cancelled = at("2027-02-02T12:00:00Z"),
                closed = at("2027-02-03T11:00:00Z"), removed = at("2027-02-03T12:00:00Z"),
                split = at("2027-02-04T12:00:00Z"), end = at("2027-02-08T00:00:00Z");
  ScriptedWaiter waiter(clock_, end);
  waiter.on(moved, [&] {
    other->reschedule("mentoring-monday", lt("2027-02-01T16:00"), lt("2027-02-02T17:00"), std::nullopt,
                      {.actor = "ana", .reason = "Presenter's request"});
  });
  waiter.on(cancelled, [&] { other->cancel("power-hour", lt("2027-02-03T15:00"), {.actor = "ana"}); });
  waiter.on(closed, [&] {
    other->close("district", {"Snow day", LocalDay{date::year{2027} / 2 / 4}, LocalDay{date::year{2027} / 2 / 4}}, as_);
  });
  waiter.on(removed, [&] { other->remove_member("m123", as_); });
  waiter.on(split, [&] {
    SplitSpec spec{.from = LocalDay{date::year{2027} / 2 / 5}};
    spec.time_of_day = 9h;
    other->split("daily-huddle", spec, {.actor = "ana", .reason = "Later start for the spring"});
  });
  const auto log = run(waiter);

  const auto got = received();
  std::size_t sent = 0, notices = 0;
  std::map<std::string, int> notices_by_member;
  for (const auto& m : store_->outbox()) {
    if (m.kind == "invitation") continue;
    if (m.state != State::sent) continue;
    ++sent;
    EXPECT_EQ(got.count(m.message_id) ? got.at(m.message_id) : 0, 1) << m.key;
    EXPECT_EQ(m.updated, m.due) << m.key << " sent at its minute";
    if (m.kind == "notice") {
      ++notices;
      ++notices_by_member[m.member];
      continue;
    }
    EXPECT_FALSE(m.series == "power-hour" && m.occurrence == lt("2027-02-03T15:00")) << "cancelled: " << m.key;
    EXPECT_FALSE(m.series == "mentoring-monday" && m.occurrence == lt("2027-02-01T16:00") && m.due > moved &&
                 m.key.ends_with("20270201T2100Z"))
        << "old time: " << m.key;
    EXPECT_FALSE(m.series == "daily-huddle" && m.occurrence == lt("2027-02-04T08:30") && m.due > closed) << m.key;
    if (m.member == "m123") EXPECT_LT(m.due, removed) << m.key;
  }
  EXPECT_EQ(got.size(), sent) << "nothing arrived that the outbox does not say it sent";
  // Per change: mentoring (8 community members), power hour (8 + 8), huddle closed and
  // split (8 + 8, less m123 for the split).
  EXPECT_EQ(notices, 8u + 16u + 16u + 15u) << ::testing::PrintToString(notices_by_member);
  EXPECT_GT(sent, 300u);
  EXPECT_TRUE(log.empty() || !has_line(log, "late ")) << "a worker that wakes on time is never late";
  // One wake per due time, change or lookahead entry: far fewer than the 10,080
  // minutes of the week.
  EXPECT_LT(waiter.wakes.size(), 120u);
  EXPECT_LT(passes_, 120u);
}

// After downtime: what came due while nothing ran is sent late (logged) while its
// session has not started, dropped (logged) once it has.
TEST_F(WorkerTest, CatchesUpAfterDowntimeAndDropsSessionsThatStarted) {
  add_member("rosa", {Subscription::Kind::series, "mentoring-monday"});
  add_member("ben", {Subscription::Kind::series, "power-hour"});
  ASSERT_GT(remind::run_once(*store_, clock_).planned, 0u);  // planned on 25 January, then down
  clock_.set(at("2027-02-01T20:50:00Z"));
  ScriptedWaiter waiter(clock_, at("2027-02-01T20:51:00Z"));
  const auto log = run(waiter);
  // Mentoring Monday 1 February 21:00Z: its P1D (due Sunday 21:00Z) and PT15M (20:45Z)
  // are sent, late; Power Hour of 27 January (20:00Z) had started: dropped.
  EXPECT_TRUE(has_line(log, "late reminder/rosa/mentoring-monday/2027-02-01T16:00/P1D/")) << ::testing::PrintToString(log);
  EXPECT_TRUE(has_line(log, "late reminder/rosa/mentoring-monday/2027-02-01T16:00/PT15M/")) << ::testing::PrintToString(log);
  EXPECT_TRUE(has_line(log, "dropped reminder/ben/power-hour/2027-01-27T15:00/PT15M/20270127T2000Z"))
      << ::testing::PrintToString(log);
  EXPECT_TRUE(has_line(log, "dropped reminder/rosa/mentoring-monday/2027-01-25T16:00/PT15M/"))
      << ::testing::PrintToString(log);
  EXPECT_EQ(received().size(), 2u) << "the two late ones";
}

// A deferred recipient (451) is tried again after 1, 2, 4, ... minutes, at those very
// times (the worker wakes for them), and after kMaxAttempts is failed with the last
// error, listed by `convene reminders --failed`; the member next to them gets theirs.
TEST_F(WorkerTest, BacksOffThenFailsWithTheLastError) {
  SmtpSinkOptions options;
  options.defer = "^deferred@";
  start_sink(options);
  clock_.set(at("2027-01-31T12:00:00Z"));
  add_member("rosa", {Subscription::Kind::series, "mentoring-monday"}, {std::chrono::days{1}});
  add_member("deferred", {Subscription::Kind::series, "mentoring-monday"}, {std::chrono::days{1}});
  ScriptedWaiter waiter(clock_, at("2027-02-01T00:00:00Z"));
  const auto log = run(waiter);
  std::vector<OutboxMessage> rows;
  for (auto& m : store_->outbox({.member = std::string("deferred")}))
    if (m.occurrence == lt("2027-02-01T16:00")) rows.push_back(std::move(m));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, State::failed);
  EXPECT_EQ(rows[0].attempts, remind::kMaxAttempts);
  EXPECT_NE(rows[0].last_error.find("451"), std::string::npos) << rows[0].last_error;
  // Tried at 21:00, then 1, 2, 4, 8, 16, 30, 30 minutes later: failed at 22:31.
  Instant t = at("2027-01-31T21:00:00Z");
  for (std::uint32_t attempt = 1; attempt < remind::kMaxAttempts; ++attempt) {
    t = remind::retry_at(t, attempt);
    EXPECT_NE(std::find(waiter.wakes.begin(), waiter.wakes.end(), t), waiter.wakes.end()) << utc(t);
  }
  EXPECT_EQ(t, at("2027-01-31T22:31:00Z"));
  EXPECT_EQ(rows[0].updated, t);
  EXPECT_TRUE(has_line(log, "failed reminder/deferred/")) << ::testing::PrintToString(log);
  EXPECT_EQ(received().size(), 1u) << "rosa's";
  EXPECT_EQ(store_->outbox({.states = {State::failed}}).size(), 1u);
  store_.reset();
  const auto cli = run_cli({"reminders", "--failed", "--format", "json", "--db", path_});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto listed = json::parse(cli.out);
  ASSERT_EQ(listed.size(), 1u) << cli.out;
  EXPECT_EQ(listed[0]["member"], "deferred");
  EXPECT_NE(listed[0]["last_error"].get<std::string>().find("451"), std::string::npos) << cli.out;
  EXPECT_EQ(listed[0]["attempts"], remind::kMaxAttempts);
}

// The real waiter: a change committed by another connection wakes it at once (an hour
// early); its own stop request too.
TEST(StoreWatch, WakesOnAChangeByAnotherProcessAndOnStop) {
  TempDir dir;
  const std::string path = (dir / "convene.db").string();
  StoreOptions o;
  o.path = path;
  auto store = Store::open(o);
  auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
  ASSERT_TRUE(loaded.ok());
  store->import_definitions(*loaded.definitions, {.actor = "ana"});
  remind::StoreWatch watch(path, Clock::real());
  const auto before = store->data_version();
  std::thread change([&] {
    auto other = Store::open(o);
    MemberSpec spec;
    spec.id = "rosa";
    spec.email = "rosa@example.org";
    other->add_member(spec, {.actor = "ana"});
  });
  const auto wake = watch.wait(Clock::real().now() + std::chrono::hours{1});
  change.join();
  EXPECT_EQ(wake, remind::Wake::changed);
  EXPECT_NE(store->data_version(), before);
  std::thread stop([&] { watch.request_stop(); });
  auto next = remind::Wake::changed;  // the change's later writes may still be queued
  while (next == remind::Wake::changed) next = watch.wait(Clock::real().now() + std::chrono::hours{1});
  stop.join();
  EXPECT_EQ(next, remind::Wake::stop);
  EXPECT_TRUE(watch.stop_requested());
}

// `convene worker`: asleep until a facilitator's change (another process, the CLI) wakes
// it; the notice goes out at once; SIGTERM stops it with status 0.
TEST_F(WorkerTest, TheCliWorkerWakesOnAChangeAndStopsOnSigterm) {
  store_.reset();
  const std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-02-03T12:00:00Z"}};
  for (const auto& args : std::vector<std::vector<std::string>>{{"member", "add", "rosa", "--email", "rosa@example.org"},
                                                                {"subscribe", "rosa", "series:power-hour"}}) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--db", path_, "--as", "ana"});
    const auto r = run_cli(full, "", env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string error;
  auto worker = ChildProcess::start({"/usr/bin/env", "CONVENE_NOW=2027-02-03T12:00:00Z", cli_path().string(), "worker",
                                     "--db", path_},
                                    "running on ", error);
  ASSERT_TRUE(worker) << error;
  const auto r = run_cli({"reschedule", "power-hour", "2027-02-03", "--to", "2027-02-03T16:00", "--db", path_, "--as", "ana"},
                         "", {{"CONVENE_NOW", "2027-02-03T12:00:00Z"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The notice arrives (a safety-net deadline only: the worker would otherwise sleep
  // until 19:45 simulated, hours away).
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (sink_->messages().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);  // a condition wait with a deadline
  ASSERT_EQ(sink_->messages().size(), 1u) << worker->output_tail();
  EXPECT_NE(read_file(sink_->messages()[0]).find("Subject: Power Hour moved to"), std::string::npos);
  EXPECT_EQ(worker->stop(), 0) << worker->output_tail();
  EXPECT_NE(worker->output_tail().find("convene worker: stopped after"), std::string::npos) << worker->output_tail();
}

// A lease held by another worker (one killed with kill -9 leaves it so): nothing is
// written or sent until it expires, then the worker takes it over and sends.
TEST_F(WorkerTest, TakesOverALeaseWhenItExpires) {
  add_member("rosa", {Subscription::Kind::series, "power-hour"});
  clock_.set(at("2027-02-03T19:45:00Z"));
  ASSERT_TRUE(open(clock_)->acquire_lease(remind::kLeaseName, "gone:1:0", 60s));
  ScriptedWaiter waiter(clock_, at("2027-02-03T19:50:00Z"));
  const auto log = run(waiter);
  EXPECT_TRUE(has_line(log, "another worker holds the lease until 2027-02-03T19:46:00Z")) << ::testing::PrintToString(log);
  EXPECT_EQ(waiter.wakes.front(), at("2027-02-03T19:46:00Z"));
  ASSERT_EQ(received().size(), 1u);
  for (const auto& m : store_->outbox({.states = {State::sent}})) EXPECT_EQ(m.updated, at("2027-02-03T19:46:00Z"));
  // The pass gave it up when it was done: anyone may take it.
  EXPECT_TRUE(open(clock_)->acquire_lease(remind::kLeaseName, "another:2:0", 60s));
}

// Real worker processes on one store (the lease in SQLite between them).
class WorkerProcesses : public WorkerTest {
 protected:
  static constexpr int kMembers = 120;
  void SetUp() override {
    WorkerTest::SetUp();
    for (int i = 0; i < kMembers; ++i) add_member("p" + std::to_string(100 + i), {Subscription::Kind::series, "power-hour"});
    store_.reset();
  }
  std::unique_ptr<ChildProcess> worker(const std::filesystem::path& binary, std::vector<std::string> env = {}) {
    std::vector<std::string> argv{"/usr/bin/env", "CONVENE_NOW=2027-02-03T19:45:00Z"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {binary.string(), "worker", "--lease", "PT3S", "--db", path_});
    std::string error;
    auto child = ChildProcess::start(argv, "running on ", error);
    EXPECT_TRUE(child) << error;
    return child;
  }
  // Waits (a safety-net deadline) until every Power Hour reminder of the day is sent.
  std::size_t wait_all_sent() {
    auto reader = open(Clock::real());
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    std::size_t sent = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      sent = 0;
      for (const auto& m : reader->outbox({.states = {State::sent}})) sent += m.occurrence == lt("2027-02-03T15:00");
      if (sent == kMembers) break;
      std::this_thread::sleep_for(20ms);  // a condition wait with a deadline
    }
    return sent;
  }
};

TEST_F(WorkerProcesses, TwoWorkersNeverSendTwice) {
  auto a = worker(cli_path());
  auto b = worker(cli_path());
  ASSERT_TRUE(a && b);
  ASSERT_EQ(wait_all_sent(), std::size_t(kMembers)) << a->output_tail() << b->output_tail();
  EXPECT_EQ(a->stop(), 0);
  EXPECT_EQ(b->stop(), 0);
  const auto got = received();
  EXPECT_EQ(got.size(), std::size_t(kMembers));
  for (const auto& [id, n] : got) EXPECT_EQ(n, 1) << id << "\n" << a->output_tail() << b->output_tail();
}

// One worker killed with kill -9 in the middle of a batch (after the server's 250 for
// its 10th message, before the outbox says so); the other takes over once the lease
// expires and sends the rest. Nothing lost; the duplicates are the messages of the
// 250-to-commit window only, the same Message-ID twice.
TEST_F(WorkerProcesses, AKilledWorkersLeaseIsTakenOverAfterItExpires) {
  auto a = worker(cli_testing_path(), {"CONVENE_TEST_CRASH_AT=remind.sent:10"});
  ASSERT_TRUE(a);
  ASSERT_EQ(a->wait(60s), 128 + SIGKILL) << a->output_tail();
  EXPECT_LT(received().size(), std::size_t(kMembers));
  auto b = worker(cli_path());
  ASSERT_TRUE(b);
  ASSERT_EQ(wait_all_sent(), std::size_t(kMembers)) << b->output_tail();
  EXPECT_EQ(b->stop(), 0);
  EXPECT_NE(b->output_tail().find("another worker holds the lease until"), std::string::npos) << b->output_tail();
  const auto got = received();
  EXPECT_EQ(got.size(), std::size_t(kMembers)) << "nothing lost";
  int duplicates = 0;
  for (const auto& [id, n] : got) {
    EXPECT_LE(n, 2) << id;
    duplicates += n - 1;
  }
  EXPECT_GE(duplicates, 1) << "the 10th was sent, and not recorded";
  EXPECT_LE(duplicates, int(remind::kSendBatch)) << "only the batch in flight";
  std::cout << "kill -9 after the 10th 250: " << duplicates << " duplicate(s)\n";
}

}  // namespace
}  // namespace convene
