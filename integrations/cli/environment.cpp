// The CLI's time: its clock (CONVENE_NOW), the local zone ($TZ, /etc/localtime) and
// today (CONVENE_TODAY).
#include <cstdlib>
#include <stdexcept>

#include "commands.h"

namespace convene::cli {
namespace {

// The system clock, unless CONVENE_NOW pins it.
class CliClock final : public Clock {
 public:
  CliClock() {
    const char* pinned = std::getenv("CONVENE_NOW");
    if (!pinned || !*pinned) return;
    const std::string text = pinned;
    const auto local = text.size() > 1 && text.back() == 'Z'
                           ? parse_local_minute(std::string_view(text).substr(0, text.size() - 1))
                           : std::nullopt;
    if (local) {
      pinned_ = Instant{local->time_since_epoch()};
    } else {
      error_ = "CONVENE_NOW=\"" + text.substr(0, 40) + "\" is not an instant (YYYY-MM-DDTHH:MM:SSZ)";
    }
  }
  Instant now() const override {
    if (!error_.empty()) throw std::runtime_error(error_);
    return pinned_ ? *pinned_ : Clock::real().now();
  }

 private:
  std::optional<Instant> pinned_;
  std::string error_;
};

}  // namespace

const Clock& cli_clock() {
  static const CliClock clock;
  return clock;
}

const date::time_zone* local_zone() {
  if (const char* tz = std::getenv("TZ"); tz && *tz) {
    std::string_view name = tz;
    if (name.front() == ':') name.remove_prefix(1);
    if (const date::time_zone* zone = find_zone(name)) return zone;
  }
  try {
    return date::current_zone();
  } catch (const std::exception&) {
    return find_zone("UTC");
  }
}

std::optional<LocalDay> today(const date::time_zone* zone) {
  if (const char* pinned = std::getenv("CONVENE_TODAY"); pinned && *pinned) {
    auto day = parse_date(pinned);
    if (!day) fail(std::string("CONVENE_TODAY=\"") + std::string(pinned).substr(0, 40) + "\" is not a date (YYYY-MM-DD)");
    return day;
  }
  return date::floor<date::days>(to_local(cli_clock().now(), zone ? zone : local_zone()));
}

}  // namespace convene::cli
