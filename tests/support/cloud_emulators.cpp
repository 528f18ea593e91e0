// The cloud emulators as fixtures (cloud_emulators.h).
#include "cloud_emulators.h"

#include <curl/curl.h>

#include <stdexcept>

#include "test_support.h"

namespace fs = std::filesystem;

namespace convene::testing {

namespace {

size_t collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

nlohmann::json call(const std::string& url, const std::string* body) {
  CURL* easy = curl_easy_init();
  std::string answer;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 60L);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  if (body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, long(body->size()));
  }
  const CURLcode code = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  if (code != CURLE_OK || status != 200) throw std::runtime_error("emulator control " + url + " failed: " + answer);
  return nlohmann::json::parse(answer);
}

}  // namespace

std::unique_ptr<CloudEmulator> CloudEmulator::google(const fs::path& dir, const std::string& calendar,
                                                     std::string& error, const std::vector<std::string>& extra) {
  fs::create_directories(dir);
  std::unique_ptr<CloudEmulator> e(new CloudEmulator());
  e->dir_ = dir;
  // The token URI in the file is the real one: the target's --token-url points it here.
  const auto key = run_python({(source_dir() / "tests/emulators/keygen.py").string(), dir.string(), e->client_email(),
                               "https://oauth2.googleapis.com/token"});
  if (key.exit_code != 0) {
    error = "keygen failed: " + key.err;
    return nullptr;
  }
  std::vector<std::string> argv = {"/usr/bin/python3", (source_dir() / "tests/emulators/google_calendar.py").string(),
                                   "--reference", (source_dir() / "tests/emulators/reference/calendar.v3.json").string(),
                                   "--public-key", (dir / "public.pem").string(), "--client-email", e->client_email(),
                                   "--calendar", calendar};
  argv.insert(argv.end(), extra.begin(), extra.end());
  e->process_ = ChildProcess::start(argv, R"(google listening (\d+))", error);
  if (!e->process_) return nullptr;
  e->port_ = std::stoi(e->process_->match());
  return e;
}

std::unique_ptr<CloudEmulator> CloudEmulator::graph(const fs::path& dir, const std::string& mailbox, std::string& error,
                                                    const std::vector<std::string>& extra) {
  fs::create_directories(dir);
  std::unique_ptr<CloudEmulator> e(new CloudEmulator());
  e->dir_ = dir;
  e->graph_ = true;
  const std::string secret = "s3cret~graph-client-value";
  write_file(dir / "client.secret", secret + "\n");
  fs::permissions(dir / "client.secret", fs::perms::owner_read | fs::perms::owner_write);
  std::vector<std::string> argv = {"/usr/bin/python3", (source_dir() / "tests/emulators/graph.py").string(),
                                   "--reference",
                                   (source_dir() / "tests/emulators/reference/graph-v1.0-events-subset.openapi.yml").string(),
                                   "--tenant", "contoso-tenant", "--client-id", "convene-app", "--client-secret", secret,
                                   "--mailbox", mailbox};
  argv.insert(argv.end(), extra.begin(), extra.end());
  e->process_ = ChildProcess::start(argv, R"(graph listening (\d+))", error);
  if (!e->process_) return nullptr;
  e->port_ = std::stoi(e->process_->match());
  return e;
}

nlohmann::json CloudEmulator::get(const std::string& control) const {
  return call(url() + "/_control/" + control, nullptr);
}

nlohmann::json CloudEmulator::post(const std::string& control, const nlohmann::json& body) const {
  const std::string text = body.dump();
  return call(url() + "/_control/" + control, &text);
}

std::size_t CloudEmulator::writes(std::size_t from) const {
  const auto log = get("log");
  std::size_t n = 0;
  for (std::size_t i = from; i < log.size(); ++i)
    if (log[i]["write"].get<bool>()) ++n;
  return n;
}

}  // namespace convene::testing
