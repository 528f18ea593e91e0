// The flags of `convene target add` for the calendar-API kinds (google, graph; issue 12),
// kept apart from commands_target.cpp (email, caldav) so each kind's flags are read in one place.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"

namespace convene::cli {

struct CloudTargetFlags {
  // google
  std::string calendar_id, credentials_file, subject;
  bool meet = false;
  // graph
  std::string tenant, client_id, client_secret_file, mailbox;
  bool teams = false;
  // both
  std::string api_url, token_url;
  std::optional<std::size_t> requests_per_minute;
  std::optional<long long> timeout_ms, backoff_ms;
  std::optional<int> max_attempts;
};

void add_cloud_target_options(CLI::App& command, CloudTargetFlags& flags);
// Whether any of the cloud flags was given (for "--calendar-id is for --kind google").
void refuse_cloud_flags_for(const std::string& kind, const CloudTargetFlags& flags);
// The settings of a google or graph target from its flags, checked (StoreError::invalid
// naming the flag otherwise). `max_connections` and `ca_file` come from the shared flags.
nlohmann::json cloud_target_settings(const std::string& kind, const CloudTargetFlags& flags,
                                     std::size_t max_connections, const std::string& ca_file);

}  // namespace convene::cli
