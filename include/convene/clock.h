// convene/clock.h: where "now" comes from.
//
// Anything that records or waits on the current time (the store's audit and revisions,
// later reminders and token expiry) takes a Clock rather than calling
// std::chrono::system_clock::now() in the middle of its logic (abseil's absl::Clock,
// with its SimulatedClock for tests). Production code passes Clock::real(); tests pass
// a SimulatedClock and move it by hand, so nothing ever sleeps.
//
// How to use:
//   convene::SimulatedClock clock(convene::Instant{date::sys_days{date::year{2027}/2/1}});
//   auto store = convene::Store::open({.path = "convene.db", .clock = &clock});
//   clock.advance(std::chrono::minutes{5});
#pragma once

#include <mutex>

#include "convene/time.h"

namespace convene {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current instant, to the second.
  virtual Instant now() const = 0;
  // The system clock. Always the same object; thread-safe.
  static const Clock& real();
};

// A clock that moves only when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(Instant start = Instant{}) : now_(start) {}
  Instant now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(Instant at) {
    std::lock_guard lock(mutex_);
    now_ = at;
  }
  void advance(Seconds by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  Instant now_;
};

}  // namespace convene
