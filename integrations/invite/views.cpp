// Targets as `convene target list|show` print them.
#include <map>
#include <sstream>

#include "convene/invite.h"

namespace convene::invite {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string at_text(const std::optional<Instant>& at) { return at ? date::format("%Y-%m-%d %H:%MZ", *at) : "never"; }

std::string scope_text(const TargetSpec& spec) {
  if (!spec.communities) return "every community";
  std::string out;
  for (const auto& c : *spec.communities) out += (out.empty() ? "" : ", ") + c;
  return out;
}

// The settings with each secret described, never shown.
ordered_json public_settings(const TargetSpec& spec) {
  const auto settings = json::parse(spec.settings, nullptr, false);
  ordered_json out = ordered_json::object();
  if (!settings.is_object()) return out;
  for (const auto& [key, value] : settings.items()) {
    if (key == "password" || key == "credentials" || key == "client_secret") {
      std::string error;
      const auto ref = SecretRef::from_json(value, error);
      out[key] = ref ? ref->describe() : "(unreadable)";
    } else {
      out[key] = value;
    }
  }
  return out;
}

}  // namespace

ordered_json target_json(const TargetInfo& t, const Store* store) {
  ordered_json j;
  j["name"] = t.spec.name;
  j["kind"] = std::string(to_string(t.spec.kind));
  j["communities"] = t.spec.communities ? ordered_json(*t.spec.communities) : ordered_json("all");
  j["settings"] = public_settings(t.spec);
  j["created"] = at_text(t.created);
  j["last_attempt"] = t.last_attempt ? ordered_json(at_text(t.last_attempt)) : ordered_json(nullptr);
  j["last_success"] = t.last_success ? ordered_json(at_text(t.last_success)) : ordered_json(nullptr);
  j["last_error"] = t.last_error.empty() ? ordered_json(nullptr) : ordered_json(t.last_error);
  j["failures"] = t.failures;
  if (store) {
    std::size_t series = 0, copies = 0;
    for (const auto& r : store->remote_records(t.spec.name))
      if (!r.occurrence && r.live) {
        ++copies;
        series += r.copy.empty();
      }
    j["events"] = t.spec.kind == TargetKind::email ? copies : series;
    OutboxQuery q;
    q.target = t.spec.name;
    std::map<std::string, std::size_t> states;
    for (const auto& m : store->outbox(q)) ++states[std::string(to_string(m.state))];
    ordered_json outbox = ordered_json::object();
    for (auto s : {OutboxMessage::State::planned, OutboxMessage::State::sending, OutboxMessage::State::sent,
                   OutboxMessage::State::failed, OutboxMessage::State::withdrawn})
      outbox[std::string(to_string(s))] = states[std::string(to_string(s))];
    j["outbox"] = outbox;
  }
  return j;
}

std::string target_text(const TargetInfo& t, const Store* store) {
  const auto j = target_json(t, store);
  std::ostringstream out;
  out << t.spec.name << " (" << to_string(t.spec.kind) << ")\n";
  out << "  communities: " << scope_text(t.spec) << "\n";
  for (const auto& [key, value] : j["settings"].items())
    out << "  " << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  out << "  last sync: " << at_text(t.last_attempt);
  if (!t.last_error.empty()) out << " (failed " << t.failures << " in a row: " << t.last_error << ")";
  else if (t.last_success) out << " (ok)";
  out << "\n";
  if (store) {
    out << "  " << (t.spec.kind == TargetKind::email ? "copies in members' calendars: " : "events: ")
        << j["events"].get<std::size_t>() << "\n  outbox:";
    for (const auto& [state, n] : j["outbox"].items()) out << " " << state << " " << n.get<std::size_t>();
    out << "\n";
  }
  return out.str();
}

std::string targets_text(const std::vector<TargetInfo>& targets) {
  if (targets.empty()) return "no targets (add one with `convene target add`)\n";
  std::ostringstream out;
  for (const auto& t : targets) {
    out << t.spec.name << "  " << to_string(t.spec.kind) << "  " << scope_text(t.spec) << "  last sync "
        << at_text(t.last_attempt);
    if (!t.last_error.empty()) out << " failed: " << t.last_error;
    out << "\n";
  }
  return out.str();
}

}  // namespace convene::invite
