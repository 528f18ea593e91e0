// A webhook receiver for the tests (tests/servers/webhook_receiver.py): an HTTP server on
// 127.0.0.1 at a port the kernel picks, recording every POST; what it answers depends on
// the path (/ok/ 200, /fail/ 500, /busy/ 429 with Retry-After, /gone/ 404, /hang/ never,
// /wait/ 200 once an SMTP sink received a message).
// Started by the test, stopped when its object goes away.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "servers.h"

namespace convene::testing {

class WebhookReceiver {
 public:
  // `retry_after`: the Retry-After value /busy/ answers with; `wait_for`: the folder
  // whose first .eml file /wait/ waits for (an SmtpSink's dir()).
  static std::unique_ptr<WebhookReceiver> start(const std::filesystem::path& dir, std::string& error,
                                                const std::string& retry_after = "120",
                                                const std::filesystem::path& wait_for = {});
  int port() const { return port_; }
  // http://127.0.0.1:PORT + path
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // Every POST received so far, in order: [{path, headers, body}].
  nlohmann::json posts() const;

 private:
  std::unique_ptr<ChildProcess> process_;
  std::filesystem::path log_;
  int port_ = 0;
};

}  // namespace convene::testing
