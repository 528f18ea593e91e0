// The tests' webhook receiver (webhook_receiver.h).
#include "webhook_receiver.h"

#include <fstream>

#include "test_support.h"

namespace convene::testing {

std::unique_ptr<WebhookReceiver> WebhookReceiver::start(const std::filesystem::path& dir, std::string& error,
                                                        const std::string& retry_after,
                                                        const std::filesystem::path& wait_for) {
  std::filesystem::create_directories(dir);
  auto r = std::unique_ptr<WebhookReceiver>(new WebhookReceiver());
  r->log_ = dir / "posts.jsonl";
  std::vector<std::string> argv = {"/usr/bin/python3", (source_dir() / "tests/servers/webhook_receiver.py").string(),
                                   "--log", r->log_.string(), "--retry-after", retry_after};
  if (!wait_for.empty()) argv.insert(argv.end(), {"--wait-for", wait_for.string()});
  r->process_ = ChildProcess::start(argv, R"(listening (\d+))", error);
  if (!r->process_) return nullptr;
  r->port_ = std::stoi(r->process_->match());
  return r;
}

nlohmann::json WebhookReceiver::posts() const {
  nlohmann::json out = nlohmann::json::array();
  std::ifstream in(log_);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace convene::testing
