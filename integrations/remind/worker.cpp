// convene worker: passes whenever there is work, asleep in between (convene/remind.h).
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "convene/fault_points.h"
#include "convene/remind.h"

namespace convene::remind {

namespace {

std::string utc(Instant at) { return date::format("%FT%TZ", at); }

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

// Milliseconds from now to `until` on `clock`, at most kMaxSleep. The clock counts whole
// seconds; the system clock's fraction of the current second is taken off, so a wake
// lands just after the second `until` names rather than up to a second later.
int timeout_ms(const Clock& clock, Instant until) {
  const auto left = until - clock.now();
  if (left <= Seconds{0}) return 0;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto fraction = std::chrono::duration_cast<std::chrono::milliseconds>(now - std::chrono::floor<Seconds>(now));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::min<Seconds>(left, kMaxSleep)) - fraction;
  return int(std::max<std::int64_t>(ms.count(), 0));
}

}  // namespace

// --- StoreWatch ---------------------------------------------------------------------

StoreWatch::StoreWatch(const std::filesystem::path& database, const Clock& clock) : clock_(clock) {
  const auto absolute = std::filesystem::absolute(database);
  names_[0] = absolute.filename().string();
  names_[1] = names_[0] + "-wal";
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ < 0) throw_errno("inotify_init1");
  const auto dir = absolute.parent_path().string();
  if (::inotify_add_watch(inotify_, dir.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0) {
    const int saved = errno;
    ::close(inotify_);
    errno = saved;
    throw_errno("watching " + dir);
  }
  if (::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) < 0) {
    const int saved = errno;
    ::close(inotify_);
    errno = saved;
    throw_errno("pipe2");
  }
}

StoreWatch::~StoreWatch() {
  ::close(inotify_);
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

void StoreWatch::request_stop() noexcept {
  stop_.store(true);
  const char byte = 1;
  [[maybe_unused]] const auto n = ::write(pipe_[1], &byte, 1);
}

bool StoreWatch::stop_requested() const { return stop_.load(); }

// Reads the queued events: true when one is about the database or its -wal file.
bool StoreWatch::store_written() {
  alignas(inotify_event) char buffer[4096];
  bool written = false;
  for (;;) {
    const auto n = ::read(inotify_, buffer, sizeof buffer);
    if (n <= 0) return written;
    for (char* p = buffer; p < buffer + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(p);
      if (e->len > 0) {
        const std::string_view name(e->name);
        written = written || name == names_[0] || name == names_[1];
      }
      p += sizeof(inotify_event) + e->len;
    }
  }
}

Wake StoreWatch::wait(Instant until) {
  for (;;) {
    if (stop_requested()) return Wake::stop;
    pollfd fds[2] = {{pipe_[0], POLLIN, 0}, {inotify_, POLLIN, 0}};
    const int timeout = timeout_ms(clock_, until);
    const int ready = ::poll(fds, 2, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (ready == 0) return Wake::time;
    if (fds[0].revents) return Wake::stop;
    if (store_written()) return Wake::changed;
  }
}

// --- Worker -------------------------------------------------------------------------

Worker::Worker(Store& store, const Clock& clock, Waiter& waiter, WorkerOptions options)
    : store_(store), clock_(clock), waiter_(waiter), options_(std::move(options)) {
  options_.pass.may_continue = [this] { return !waiter_.stop_requested(); };
  if (!options_.pass.throughput) options_.pass.throughput = &throughput_;
  if (!options_.pass.rendered_through) options_.pass.rendered_through = &rendered_through_;
}

void Worker::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

std::size_t Worker::run() {
  std::size_t passes = 0;
  while (!waiter_.stop_requested()) {
    const std::uint64_t seen = store_.data_version();
    const PassReport report = run_once(store_, clock_, options_.pass);
    ++passes;
    for (const auto& line : report.log) log(line);
    if (report.planned || report.withdrawn || report.sent || report.failed || report.dropped) {
      const std::string text = report_text(report, false);
      log("pass at " + utc(clock_.now()) + ": " + text.substr(0, text.find('\n')));
      if (const auto w = window_of(report))
        log("250-to-commit window: p50 " + std::to_string(w->p50.count()) + " us, p99 " + std::to_string(w->p99.count()) +
            " us, max " + std::to_string(w->max.count()) + " us");
    }
    const Instant next = report.next_wake.value_or(clock_.now() + kMaxSleep);
    fault_point("remind.wait");
    for (;;) {
      const Wake wake = waiter_.wait(next);
      if (wake == Wake::stop) return passes;
      if (wake == Wake::time) break;
      if (store_.data_version() != seen) break;  // another process changed what is planned
    }
  }
  return passes;
}

}  // namespace convene::remind
