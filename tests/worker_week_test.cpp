// Twelve days of the sample communities (samples/communities-2026-27.json) with 300
// generated members, through the real reminder worker (convene/remind.h: Worker) on a
// real store and a real SMTP server (python3-aiosmtpd on loopback), driven by a simulated
// clock (a scripted Waiter moves it to each wake the worker asks for: no sleeps), through
// a cancellation, a reschedule, a snow-day closure, a split, a member removed and a DST
// change, with the worker killed with SIGKILL along the way and started again.
//
// The worker runs in a child process (fork) so that a kill is a real SIGKILL at a fault
// point (convene/fault_points.h) with the simulated clock: the child reports each wake's
// time and each change it applied through a pipe, and the next child starts from there,
// as a restarted worker would (the dead one's lease expires first).
//
// The oracle is independent of the planner: a reference store gets the same changes, and
// between two changes the schedule it expands is the one in force; a reminder is due at
// start - offset of every session then live that the member follows, at each of their
// offsets (or the series'). Every expected reminder, notice and digest arrives exactly
// once (a kill between the server's 250 and the outbox's commit sends that batch's
// messages again: the stated window, counted), at its minute, naming the session at its
// time; nothing else arrives: nothing for the cancelled or closed sessions after the
// change, nothing at an old time, nothing for the removed member after they left.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "convene/fault_points.h"
#include "convene/invite.h"
#include "convene/remind.h"
#include "convene/store.h"
#include "convene/views.h"
#include "servers.h"
#include "test_support.h"

namespace convene {
namespace {

using namespace convene::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using State = OutboxMessage::State;

constexpr int kMembers = 300;
constexpr Seconds kLease = 2s;  // a killed worker's lease: the next one waits this long

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }
std::string utc(Instant t) { return date::format("%FT%TZ", t); }

const Instant kSetUp = at("2027-03-01T12:00:00Z");
const Instant kStart = at("2027-03-08T00:00:00Z");
const Instant kEnd = at("2027-03-20T00:00:00Z");
const ChangeContext kAna{.actor = "ana"};

// The facilitators' changes, at their times (none on a due minute).
struct Change {
  Instant when;
  std::function<void(Store&)> apply;
};
const std::vector<Change>& changes() {
  static const std::vector<Change> list{
      {at("2027-03-08T14:07:00Z"),
       [](Store& s) {
         s.cancel("power-hour", lt("2027-03-10T15:00"), {.actor = "ana", .reason = "Nurses staff the vaccination clinic"});
       }},
      {at("2027-03-09T15:07:00Z"),
       [](Store& s) {
         s.reschedule("mentoring-monday", lt("2027-03-15T16:00"), lt("2027-03-17T16:00"), std::nullopt,
                      {.actor = "ana", .reason = "Room conflict"});
       }},
      {at("2027-03-10T21:07:00Z"),
       [](Store& s) { s.close("cop-closures", {"Snow day", LocalDay{date::year{2027} / 3 / 11}, LocalDay{date::year{2027} / 3 / 11}}, kAna); }},
      {at("2027-03-12T16:07:00Z"),
       [](Store& s) {
         SplitSpec spec{.from = LocalDay{date::year{2027} / 3 / 15}};
         spec.time_of_day = 13h;
         s.split("dc-cop-monthly", spec, {.actor = "ana", .reason = "Afternoons from the spring"});
       }},
      {at("2027-03-13T12:07:00Z"), [](Store& s) { s.remove_member("m299", kAna); }},
  };
  return list;
}

// Member i: what they follow, their offsets, zone and digest (a mix of everything).
MemberSpec member_spec(int i) {
  MemberSpec spec;
  spec.id = "m" + std::to_string(i);
  spec.name = "Member " + std::to_string(i);
  spec.email = spec.id + "@schools.example.org";
  static const std::vector<std::vector<Seconds>> kOffsets{{}, {15min}, {std::chrono::days{1}, 10min}, {1h}};
  spec.reminders.offsets = kOffsets[static_cast<std::size_t>(i % 4)];
  if (i % 5 == 1) spec.timezone = "America/Chicago";
  if (i % 5 == 2) spec.timezone = "Europe/London";
  if (i % 10 <= 2) spec.digest = parse_digest_time("MO 07:00");  // in New York, Chicago, London
  if (i % 10 >= 5 && i % 10 <= 7) spec.digest = parse_digest_time("SU 02:30");  // 14 March: the spring-forward skips it
  return spec;
}
std::vector<Subscription> follows(int i) {
  if (i % 3 == 0) return {{Subscription::Kind::community, "school-nurses"}};
  if (i % 3 == 1) return {{Subscription::Kind::community, "dc-sbh-cop"}};
  return {{Subscription::Kind::series, "slc-biweekly"}, {Subscription::Kind::series, "mentoring-monday"}};
}

std::unique_ptr<Store> open_store(const std::string& path, const Clock& clock) {
  StoreOptions o;
  o.path = path;
  o.clock = &clock;
  return Store::open(o);
}

// The store as the week starts: the samples, the members, the email target.
void set_up(Store& store, const std::string& smtp_url) {
  auto loaded = load_definitions((source_dir() / "samples/communities-2026-27.json").string());
  ASSERT_TRUE(loaded.ok());
  store.import_definitions(*loaded.definitions, kAna);
  for (int i = 0; i < kMembers; ++i) {
    store.add_member(member_spec(i), kAna);
    for (const auto& s : follows(i)) store.subscribe("m" + std::to_string(i), s, kAna);
  }
  if (smtp_url.empty()) return;
  TargetSpec t;
  t.name = "mail";
  t.kind = TargetKind::email;
  invite::EmailSettings s;
  s.smtp_url = smtp_url;
  s.from = {"DC Communities of Practice", "cop@example.org"};
  t.settings = invite::to_json(s).dump();
  store.add_target(t, kAna);
}

// --- the worker in a child process --------------------------------------------------------

// Where the child's worker is killed: at the n-th fault point `point` (empty: never).
struct Kill {
  std::string point;
  int n = 0;
};
const char* g_kill_point = nullptr;
int g_kill_countdown = 0;
void kill_hook(std::string_view point) {
  if (g_kill_point && point == g_kill_point && --g_kill_countdown == 0) ::raise(SIGKILL);
}

// Moves the clock to each wake; applies the changes not yet applied at their times (as
// another process would, through its own connection); reports both to `report_fd`.
class ReportingWaiter final : public remind::Waiter {
 public:
  ReportingWaiter(SimulatedClock& clock, Store& other, std::size_t applied, int report_fd)
      : clock_(clock), other_(other), next_(applied), fd_(report_fd) {}
  remind::Wake wait(Instant until) override {
    if (next_ < changes().size() && changes()[next_].when <= until) {
      clock_.set(std::max(clock_.now(), changes()[next_].when));
      changes()[next_].apply(other_);
      report("C", static_cast<long long>(next_++));
      report("T", clock_.now().time_since_epoch().count());
      return remind::Wake::changed;
    }
    if (until >= kEnd) {
      stop_ = true;
      return remind::Wake::stop;
    }
    clock_.set(std::max(until, clock_.now()));
    report("T", clock_.now().time_since_epoch().count());
    report("W", 0);
    return remind::Wake::time;
  }
  bool stop_requested() const override { return stop_; }

 private:
  void report(const char* what, long long value) const {
    char line[64];
    const int n = std::snprintf(line, sizeof line, "%s %lld\n", what, value);
    ASSERT_EQ(::write(fd_, line, static_cast<std::size_t>(n)), n);
  }
  SimulatedClock& clock_;
  Store& other_;
  std::size_t next_;
  int fd_;
  bool stop_ = false;
};

// What a child reported, and how it ended.
struct WorkerRun {
  Instant last_clock{};
  std::size_t applied = 0;
  std::size_t wakes = 0;
  int status = 0;
};

[[noreturn]] void child_main(const std::string& path, Instant from, std::size_t applied, const Kill& kill, int fd,
                             int run) {
  if (!kill.point.empty()) {
    g_kill_point = kill.point.c_str();
    g_kill_countdown = kill.n;
    set_fault_hook(kill_hook);
  }
  SimulatedClock clock(from);
  auto store = open_store(path, clock);
  auto other = open_store(path, clock);  // the facilitators' connection
  ReportingWaiter waiter(clock, *other, applied, fd);
  remind::WorkerOptions options;
  options.pass.holder = "week-worker-" + std::to_string(run);
  options.pass.lease = kLease;
  remind::Worker worker(*store, clock, waiter, options);
  worker.run();
  ::_exit(::testing::Test::HasFailure() ? 3 : 0);
}

WorkerRun run_worker(const std::string& path, Instant from, std::size_t applied, const Kill& kill, int run) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    try {
      child_main(path, from, applied, kill, fds[1], run);
    } catch (...) {
      ::_exit(4);
    }
  }
  ::close(fds[1]);
  WorkerRun r{from, applied};
  std::string buffer;
  char chunk[4096];
  for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) > 0;) buffer.append(chunk, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ::waitpid(pid, &r.status, 0);
  std::istringstream lines(buffer);
  std::string what;
  long long value = 0;
  while (lines >> what >> value) {
    if (what == "T") r.last_clock = Instant{Seconds{value}};
    if (what == "C") r.applied = static_cast<std::size_t>(value) + 1;
    if (what == "W") ++r.wakes;
  }
  return r;
}

// --- the oracle ----------------------------------------------------------------------------

// A message expected: its kind, member, and what it is for; the minute it is due.
struct Expected {
  std::string kind, member, about;  // about: "series occurrence offset" or the change index or the week
  friend auto operator<=>(const Expected&, const Expected&) = default;
};
struct ExpectedMessage {
  Instant due{};
  std::string subject;  // reminders: the whole subject; notices: how it starts
};

// The reminders of the schedule in force in [from, to): `store` holds it.
void expect_reminders(const Store& store, Instant from, Instant to, const std::set<std::string>& gone,
                      std::map<Expected, ExpectedMessage>& out) {
  const StoreSnapshot snapshot = store.snapshot();
  const Definitions& defs = *snapshot.definitions.definitions;
  const auto first = date::floor<date::days>(from) - date::days{1}, last = date::floor<date::days>(to) + date::days{9};
  const auto sessions = expand(defs, {LocalDay{first.time_since_epoch()}, LocalDay{last.time_since_epoch()}});
  for (const auto& m : store.members()) {
    if (gone.contains(m.id)) continue;
    const auto series = store.subscribed_series(m.id);
    for (const auto& o : sessions) {
      if (!o.live() || std::find(series.begin(), series.end(), o.series->id) == series.end()) continue;
      for (const Seconds offset : m.reminders.offsets.empty() ? o.series->reminders : m.reminders.offsets) {
        const Instant due = *o.start - offset;
        if (due < from || due >= to || due < kStart || due >= kEnd) continue;
        const std::string about = o.series->id + " " + format_local_minute(o.original) + " " + format_duration(offset) +
                                  " " + date::format("%Y%m%dT%H%MZ", *o.start);
        out[{"reminder", m.id, about}] = {due, views::reminder_text(o, offset, m.zone).subject};
      }
    }
  }
}

class WorkerWeek : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    sink_ = SmtpSink::start(dir_ / "sink", {}, error);
    ASSERT_TRUE(sink_) << error;
    SimulatedClock setup_clock(kSetUp);
    set_up(*open_store(path_, setup_clock), sink_->url());
    set_up(*open_store(reference_path_, setup_clock), "");
  }

  TempDir dir_;
  std::string path_ = (dir_ / "convene.db").string();
  std::string reference_path_ = (dir_ / "reference.db").string();
  std::unique_ptr<SmtpSink> sink_;
};

TEST_F(WorkerWeek, ThreeHundredMembersGetEachMessageOnceAtItsMinuteThroughChangesAndKills) {
  const auto started = std::chrono::steady_clock::now();
  // The kills: before a message is handed over (it goes at the restart, once), and once
  // after the server's 250 (that batch's messages go twice: the window SMTP cannot close).
  const std::vector<Kill> kills{{"remind.sending", 40}, {"remind.sent", 150}, {"remind.sending", 260}, {"store.step", 3000}, {}};
  Instant from = kStart;
  std::size_t applied = 0, wakes = 0;
  int run = 0;
  for (const auto& kill : kills) {
    const WorkerRun r = run_worker(path_, from, applied, kill, ++run);
    if (kill.point.empty()) {
      ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << "run " << run << ": status " << r.status;
    } else {
      ASSERT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL)
          << "run " << run << " was to be killed at " << kill.point << " " << kill.n << ": status " << r.status;
    }
    from = r.last_clock;
    applied = r.applied;
    wakes += r.wakes;
  }
  ASSERT_EQ(applied, changes().size());
  const auto worker_took = std::chrono::steady_clock::now() - started;

  // The oracle: the reference store through the same changes; between two, its schedule.
  SimulatedClock ref_clock(kStart);
  auto reference = open_store(reference_path_, ref_clock);
  std::map<Expected, ExpectedMessage> expected;
  std::set<std::string> gone;
  Instant epoch = kStart;
  for (std::size_t c = 0; c <= changes().size(); ++c) {
    const Instant until = c < changes().size() ? changes()[c].when : kEnd;
    expect_reminders(*reference, epoch, until, gone, expected);
    if (c == changes().size()) break;
    ref_clock.set(until);
    changes()[c].apply(*reference);
    if (c == 4) gone.insert("m299");
    epoch = until;
  }
  // Notices: to each member following a touched series when the change was made, at once.
  const std::vector<std::pair<std::string, std::string>> notices{
      {"power-hour", "Cancelled: Power Hour on Wednesday 10 March, "},
      {"mentoring-monday", "Mentoring Monday moved to Wednesday 17 March, "},
      {"slc-biweekly", "Stakeholder Learning Community moved to Friday 12 March, "},  // its policy: the next business day
      {"dc-cop-monthly", "DC CoP Monthly Meeting moved to Friday 19 March, "}};
  for (int i = 0; i < kMembers; ++i) {
    const auto f = follows(i);
    const bool nurses = f[0].target == "school-nurses", dc = f[0].target == "dc-sbh-cop", slc = !nurses && !dc;
    const bool follows_series[] = {nurses, nurses || slc, slc, dc};
    const std::string id = "m" + std::to_string(i);
    for (std::size_t c = 0; c < notices.size(); ++c)
      if (follows_series[c]) expected[{"notice", id, std::to_string(c)}] = {changes()[c].when, notices[c].second};
    // Digests: Monday 07:00 in their zone (New York unless theirs), or Sunday 02:30.
    const MemberSpec spec = member_spec(i);
    if (!spec.digest) continue;
    const date::time_zone* zone = find_zone(spec.timezone.value_or("America/New_York"));
    for (const auto& [monday, week] : {std::pair{"2027-03-08", "2027-W10"}, std::pair{"2027-03-15", "2027-W11"}}) {
      const LocalDay day = *parse_date(monday) + (spec.digest->day - date::Monday);
      const Instant due = resolve_local(LocalTime{day} + spec.digest->time_of_day, zone);
      if (due >= kStart && due < kEnd) expected[{"digest", id, week}] = {due, "Your week from "};
    }
  }

  // What the server received: each message's Message-ID and Subject from its bytes (the
  // subjects are ASCII, never encoded words: what a reader sees once the header is
  // unfolded). Python's email parser (read_mail.py) reads every 10th message too, and
  // must see the same subject: it costs 7 ms a message, more than the worker's own work
  // for one, so not all 1,300 go through it.
  std::map<std::string, int> received;       // Message-ID -> times
  std::map<std::string, std::string> subjects;  // Message-ID -> Subject
  const auto files = sink_->messages();
  std::vector<std::string> sample_ids;
  std::vector<std::filesystem::path> sample;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string data = read_file(files[i]);
    const auto header = [&](const std::string& name) {
      const auto from = data.find("\r\n" + name + ": ");
      if (from == std::string::npos) return std::string();
      std::string value;
      for (auto at = from + name.size() + 4;;) {  // unfolded: a CRLF before a space or tab is removed
        const auto end = data.find("\r\n", at);
        value += data.substr(at, end - at);
        if (data[end + 2] != ' ' && data[end + 2] != '\t') break;
        at = end + 2;
      }
      return value;
    };
    const std::string id = header("Message-ID");
    ASSERT_FALSE(id.empty()) << files[i];
    ++received[id];
    subjects[id] = header("Subject");
    EXPECT_EQ(subjects[id].find("=?"), std::string::npos) << subjects[id];
    if (i % 10 == 0) {
      sample.push_back(files[i]);
      sample_ids.push_back(id);
    }
  }
  std::vector<std::string> args{(source_dir() / "tests/oracles/read_mail.py").string()};
  for (const auto& f : sample) args.push_back(f.string());
  const auto read = run_python(args);
  ASSERT_EQ(read.exit_code, 0) << read.err;
  const auto parsed = json::parse(read.out);
  ASSERT_EQ(parsed.size(), sample.size());
  for (std::size_t i = 0; i < sample.size(); ++i) {
    EXPECT_TRUE(parsed[i]["defects"].empty()) << parsed[i].dump();
    EXPECT_EQ(parsed[i]["headers"]["subject"][0], subjects[sample_ids[i]]);
    EXPECT_EQ(parsed[i]["structure"], "multipart/mixed(multipart/alternative(text/plain,text/html))") << parsed[i].dump();
  }
  auto store = open_store(path_, ref_clock);
  std::map<Expected, const OutboxMessage*> sent;
  const auto rows = store->outbox();
  const auto history = store->history();
  std::size_t duplicates = 0, sent_rows = 0;
  for (const auto& m : rows) {
    if (m.state != State::sent) continue;
    ++sent_rows;
    Expected e{m.kind, m.member, ""};
    if (m.kind == "reminder") {
      // reminder/<member>/<series>/<occurrence>/<offset>/<start>
      std::vector<std::string> parts;
      std::stringstream key(m.key);
      for (std::string p; std::getline(key, p, '/');) parts.push_back(p);
      ASSERT_EQ(parts.size(), 6u) << m.key;
      e.about = parts[2] + " " + parts[3] + " " + parts[4] + " " + parts[5];
    } else if (m.kind == "notice") {
      const auto record = std::stoull(m.key.substr(m.key.rfind("/c") + 2));
      const auto it = std::find_if(history.begin(), history.end(), [&](const auto& r) { return r.id == record; });
      ASSERT_NE(it, history.end()) << m.key;
      for (std::size_t c = 0; c < notices.size(); ++c)
        if (it->at == changes()[c].when) e.about = std::to_string(c);
    } else {
      e.about = m.key.substr(m.key.rfind('/') + 1);  // digest/<member>/<ISO week>
    }
    EXPECT_TRUE(sent.emplace(e, &m).second) << "two rows for " << m.key;
    const int times = received.contains(m.message_id) ? received.at(m.message_id) : 0;
    EXPECT_GE(times, 1) << m.key << " sent, never received";
    duplicates += static_cast<std::size_t>(std::max(0, times - 1));
  }
  // Each expected message: sent once, at its minute, about the right session at its time.
  for (const auto& [e, want] : expected) {
    const auto it = sent.find(e);
    if (it == sent.end()) {
      ADD_FAILURE() << "never sent: " << e.kind << " " << e.member << " " << e.about << " due " << utc(want.due);
      continue;
    }
    const OutboxMessage& m = *it->second;
    EXPECT_EQ(date::floor<std::chrono::minutes>(m.updated), want.due) << m.key << " sent at " << utc(m.updated);
    const std::string& subject = subjects[m.message_id];
    if (e.kind == "reminder") EXPECT_EQ(subject, want.subject) << m.key;
    else EXPECT_EQ(subject.rfind(want.subject, 0), 0u) << m.key << ": " << subject;
  }
  for (const auto& [e, m] : sent)
    EXPECT_TRUE(expected.contains(e)) << "sent, not expected: " << m->key << " at " << utc(m->updated);
  std::size_t received_total = 0;
  for (const auto& [id, n] : received) received_total += static_cast<std::size_t>(n);
  EXPECT_EQ(received.size(), sent_rows) << "nothing arrived that the outbox does not say it sent";
  EXPECT_EQ(received_total, sent_rows + duplicates);
  // Only the batch in flight at the kill after a 250 went twice.
  EXPECT_GE(duplicates, 1u) << "the 150th was accepted, and not recorded";
  EXPECT_LE(duplicates, remind::kSendBatch);
  EXPECT_GT(expected.size(), 1000u);
  EXPECT_LT(wakes, 400u) << "a wake per due time or change, not one a minute (17,280 in 12 days)";
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::cout << expected.size() << " messages to " << kMembers << " members over 12 simulated days, " << wakes
            << " wakes, " << kills.size() - 1 << " kills, " << duplicates << " duplicate(s) from the 250-to-commit window, in "
            << took.count() << " ms (the worker's runs "
            << std::chrono::duration_cast<std::chrono::milliseconds>(worker_took).count() << " ms)\n";
}

}  // namespace
}  // namespace convene
