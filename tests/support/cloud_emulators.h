// The Google Calendar and Microsoft Graph emulators (tests/emulators/*.py) as test
// fixtures: started on 127.0.0.1 with a port the kernel picks, stopped when the object
// goes away, and driven through their /_control/ endpoints (faults, state, the log).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "servers.h"

namespace convene::testing {

class CloudEmulator {
 public:
  // The Google emulator with a fresh service account: `dir`/service-account.json (0600)
  // and the calendar `calendar`. `extra`: more flags (--latency-ms 50, ...).
  static std::unique_ptr<CloudEmulator> google(const std::filesystem::path& dir, const std::string& calendar,
                                               std::string& error, const std::vector<std::string>& extra = {});
  // The Graph emulator for tenant "contoso-tenant", application "convene-app" (its secret in
  // `dir`/client.secret, 0600) and the organizer's mailbox `mailbox`.
  static std::unique_ptr<CloudEmulator> graph(const std::filesystem::path& dir, const std::string& mailbox,
                                              std::string& error, const std::vector<std::string>& extra = {});
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string token_url() const { return url() + (graph_ ? "/contoso-tenant/oauth2/v2.0/token" : "/token"); }
  std::filesystem::path client_secret() const { return dir_ / "client.secret"; }
  std::filesystem::path credentials() const { return dir_ / "service-account.json"; }
  std::string client_email() const { return "convene-sync@convene-test.iam.gserviceaccount.com"; }

  nlohmann::json get(const std::string& control) const;  // "log", "state", "violations", "stats"
  nlohmann::json post(const std::string& control, const nlohmann::json& body = nlohmann::json::object()) const;
  // Appends fault rules (see tests/emulators/emulator_common.py).
  void faults(const nlohmann::json& rules) const { post("faults", {{"rules", rules}}); }
  // The write requests (not GET) in the log, from entry `from` on.
  std::size_t writes(std::size_t from = 0) const;
  std::string output_tail() const { return process_->output_tail(); }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::filesystem::path dir_;
  int port_ = 0;
  bool graph_ = false;
};

}  // namespace convene::testing
