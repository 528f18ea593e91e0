// `convene target add --kind google|graph` flags (issue 12): see target_cloud.h.
#include "target_cloud.h"

#include "convene/cloud.h"
#include "convene/store.h"

namespace convene::cli {

namespace {

[[noreturn]] void refuse(const std::string& message) { throw StoreError(StoreError::Kind::invalid, message); }

// The service-account or client-secret file: 0600, read now, so a bad one is refused at `add`.
SecretRef secret_file(const std::string& path, const char* flag) {
  if (path.empty()) refuse(std::string("give ") + flag);
  auto read = read_secret_file(path, flag);
  if (!read.secret) refuse(read.error);
  return SecretRef::file(path);
}

void http_flags(const CloudTargetFlags& f, cloud::HttpSettings& h, std::size_t max_connections,
                const std::string& ca_file) {
  if (!f.api_url.empty()) h.api_url = f.api_url;
  if (!f.token_url.empty()) h.token_url = f.token_url;
  if (auto e = cloud::api_url_error(h.api_url, "--api-url")) refuse(*e);
  if (auto e = cloud::api_url_error(h.token_url, "--token-url")) refuse(*e);
  h.max_connections = max_connections;
  h.ca_file = ca_file;
  if (f.requests_per_minute) {
    if (*f.requests_per_minute > 1000000) refuse("--requests-per-minute is a number from 0 (no pacing) to 1000000");
    h.requests_per_minute = *f.requests_per_minute;
  }
  if (f.timeout_ms) {
    if (*f.timeout_ms < 10 || *f.timeout_ms > 600000) refuse("--timeout-ms is a number from 10 to 600000");
    h.timeout = std::chrono::milliseconds(*f.timeout_ms);
  }
  if (f.backoff_ms) {
    if (*f.backoff_ms < 0 || *f.backoff_ms > 64000) refuse("--backoff-ms is a number from 0 to 64000");
    h.backoff = std::chrono::milliseconds(*f.backoff_ms);
  }
  if (f.max_attempts) {
    if (*f.max_attempts < 1 || *f.max_attempts > 20) refuse("--max-attempts is a number from 1 to 20");
    h.max_attempts = *f.max_attempts;
  }
}

void only(bool given, const char* flag, const char* kind) {
  if (given) refuse(std::string(flag) + " is for --kind " + kind + " targets");
}

}  // namespace

void add_cloud_target_options(CLI::App& cmd, CloudTargetFlags& f) {
  cmd.add_option("--calendar-id", f.calendar_id, "google: the calendar's ID (\"primary\", ...@group.calendar.google.com)");
  cmd.add_option("--credentials-file", f.credentials_file, "google: the service account's JSON key (mode 0600)");
  cmd.add_option("--subject", f.subject, "google: the Workspace user the service account acts as");
  cmd.add_flag("--meet", f.meet, "google: a Google Meet link on every series");
  cmd.add_option("--tenant", f.tenant, "graph: the Microsoft Entra tenant ID");
  cmd.add_option("--client-id", f.client_id, "graph: the application (client) ID");
  cmd.add_option("--client-secret-file", f.client_secret_file, "graph: a file holding the client secret (mode 0600)");
  cmd.add_option("--mailbox", f.mailbox, "graph: the organizer's mailbox (user principal name)");
  cmd.add_flag("--teams", f.teams, "graph: a Teams meeting on every series");
  cmd.add_option("--api-url", f.api_url, "google/graph: the service's root URL (tests: a loopback emulator)");
  cmd.add_option("--token-url", f.token_url, "google/graph: the OAuth token endpoint");
  cmd.add_option("--requests-per-minute", f.requests_per_minute, "google/graph: pace requests (google default 600)");
  cmd.add_option("--timeout-ms", f.timeout_ms, "google/graph: per request (default 60000)");
  cmd.add_option("--backoff-ms", f.backoff_ms, "google/graph: the first retry's wait ceiling (default 1000)");
  cmd.add_option("--max-attempts", f.max_attempts, "google/graph: attempts per request (default 6)");
}

void refuse_cloud_flags_for(const std::string& kind, const CloudTargetFlags& f) {
  if (kind != "google") {
    only(!f.calendar_id.empty(), "--calendar-id", "google");
    only(!f.credentials_file.empty(), "--credentials-file", "google");
    only(!f.subject.empty(), "--subject", "google");
    only(f.meet, "--meet", "google");
  }
  if (kind != "graph") {
    only(!f.tenant.empty(), "--tenant", "graph");
    only(!f.client_id.empty(), "--client-id", "graph");
    only(!f.client_secret_file.empty(), "--client-secret-file", "graph");
    only(!f.mailbox.empty(), "--mailbox", "graph");
    only(f.teams, "--teams", "graph");
  }
  if (kind != "google" && kind != "graph") {
    only(!f.api_url.empty(), "--api-url", "google or graph");
    only(!f.token_url.empty(), "--token-url", "google or graph");
    only(f.requests_per_minute.has_value(), "--requests-per-minute", "google or graph");
    only(f.timeout_ms.has_value(), "--timeout-ms", "google or graph");
    only(f.backoff_ms.has_value(), "--backoff-ms", "google or graph");
    only(f.max_attempts.has_value(), "--max-attempts", "google or graph");
  }
}

nlohmann::json cloud_target_settings(const std::string& kind, const CloudTargetFlags& f, std::size_t max_connections,
                                     const std::string& ca_file) {
  refuse_cloud_flags_for(kind, f);
  std::string error;
  if (kind == "google") {
    cloud::GoogleSettings s;
    s.http.api_url = cloud::kGoogleApiUrl;
    s.http.token_url = cloud::kGoogleTokenUrl;
    s.http.requests_per_minute = cloud::kGoogleRequestsPerMinute;
    if (f.calendar_id.empty()) refuse("a google target needs --calendar-id ID");
    s.calendar_id = f.calendar_id;
    if (f.credentials_file.empty()) refuse("a google target needs --credentials-file SERVICE_ACCOUNT.json");
    s.credentials = secret_file(f.credentials_file, "--credentials-file");
    {
      auto read = read_secret_file(f.credentials_file, "--credentials-file");
      if (!cloud::parse_service_account(read.secret->reveal(), f.credentials_file, error)) refuse(error);
    }
    s.subject = f.subject;
    s.meet = f.meet;
    http_flags(f, s.http, max_connections, ca_file);
    auto j = cloud::to_json(s);
    if (!cloud::google_settings(j, error)) refuse(error);
    return j;
  }
  cloud::GraphSettings s;
  if (f.tenant.empty()) refuse("a graph target needs --tenant T");
  if (f.client_id.empty()) refuse("a graph target needs --client-id C");
  if (f.mailbox.empty()) refuse("a graph target needs --mailbox ADDRESS (the organizer)");
  s.tenant = f.tenant;
  s.client_id = f.client_id;
  s.mailbox = f.mailbox;
  s.client_secret = secret_file(f.client_secret_file, "--client-secret-file");
  s.teams = f.teams;
  s.http.api_url = cloud::kGraphApiUrl;
  s.http.token_url = cloud::graph_token_url(f.tenant);
  if (max_connections > cloud::kGraphMailboxConcurrency)
    refuse("--max-connections is at most 4 for a graph target (Graph's limit per mailbox)");
  http_flags(f, s.http, max_connections, ca_file);
  auto j = cloud::to_json(s);
  if (!cloud::graph_settings(j, error)) refuse(error);
  return j;
}

}  // namespace convene::cli
