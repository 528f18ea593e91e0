// A burst sent so that it ends on time: the lead before its due time, and each target's
// measured throughput (convene/remind.h).
#include <algorithm>
#include <cmath>

#include "convene/remind.h"

namespace convene::remind {

Seconds burst_lead(std::size_t due_count, double throughput) {
  if (due_count <= kSmallBurst || !(throughput > 0)) return Seconds{0};
  const double needed = double(due_count) / throughput;  // seconds
  if (needed <= double(kOnTime.count())) return Seconds{0};
  if (needed >= double(kMaxLead.count())) return kMaxLead;
  return Seconds{static_cast<Seconds::rep>(std::ceil(needed))};
}

Throughput::Throughput(double assumed, bool measures) : assumed_(assumed > 0 ? assumed : kAssumedThroughput), measures_(measures) {}

double Throughput::of(const std::string& target) const {
  std::lock_guard lock(mutex_);
  const auto it = measured_.find(target);
  return it == measured_.end() ? assumed_ : it->second;
}

bool Throughput::measured(const std::string& target) const {
  std::lock_guard lock(mutex_);
  return measured_.contains(target);
}

void Throughput::observe(const std::string& target, std::size_t messages, std::chrono::steady_clock::duration took) {
  // A few messages, or a fraction of a second, measure the latency and the server's
  // queues, not the rate it keeps up.
  if (!measures_ || messages < kSendBatch || took < kMeasureFor) return;
  const double seconds = std::chrono::duration<double>(took).count();
  if (!(seconds > 0)) return;
  std::lock_guard lock(mutex_);
  measured_[target] = double(messages) / seconds;
}

}  // namespace convene::remind
