// libcurl at convene's edge (private to convene::integrations): RAII handles, one
// multi-interface loop shared by the SMTP and HTTP clients, and URL checks.
//
// Multi runs many transfers through one multi handle, at most `limit` at once; its
// connection cache keeps connections open between transfers and between run() calls, so
// a client that keeps its Multi reuses one connection for many messages or requests.
// Workers runs them the same way, each on a thread of its own: for protocols whose
// libcurl state machine blocks inside a multi handle (SMTP, below).
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <string_view>
#include <vector>

namespace convene::net {

// curl_global_init, once per process (thread-safe).
void global_init();

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
// Appends `item` (throws std::bad_alloc when libcurl cannot).
void append(Slist& list, const std::string& item);

class Multi {
 public:
  explicit Multi(std::size_t limit);
  ~Multi();
  Multi(const Multi&) = delete;
  Multi& operator=(const Multi&) = delete;

  // Transfers 0..count-1. `setup(i, easy)` configures a reset easy handle for transfer i
  // (false: skip it). `finished(i, easy, code)` runs as each completes; returning false
  // stops starting new transfers (those running still finish). Returns how many were
  // started; the rest (from that index on, in order) were not.
  std::size_t run(std::size_t count, const std::function<bool(std::size_t, CURL*)>& setup,
                  const std::function<bool(std::size_t, CURL*, CURLcode)>& finished);

  std::size_t limit() const { return limit_; }

 private:
  CURLM* multi_;
  std::size_t limit_;
  std::vector<Easy> pool_;
};

// The same contract as Multi::run, with each transfer on a thread of its own
// (curl_easy_perform), at most `limit` at once. libcurl's SMTP waits for the reply to
// the end of a message's data in a blocking loop even inside a multi handle (smtp_done
// calls smtp_block_statemach), so one Multi's SMTP transfers take turns waiting for the
// server; on separate threads they overlap. `setup` and `finished` still run on the
// calling thread, never two at once. Each thread's easy handle keeps its connection open
// between transfers and between run() calls, so `limit` connections carry every message.
class Workers {
 public:
  explicit Workers(std::size_t limit);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  std::size_t run(std::size_t count, const std::function<bool(std::size_t, CURL*)>& setup,
                  const std::function<bool(std::size_t, CURL*, CURLcode)>& finished);

  std::size_t limit() const { return pool_.size(); }

 private:
  std::vector<Easy> pool_;
};

// The parts of a URL libcurl's parser (curl_url) finds.
struct UrlParts {
  std::string scheme, host, port, path, user, password, query, fragment;
};
// nullopt when libcurl cannot parse `url` as an absolute URL.
std::optional<UrlParts> parse_url(std::string_view url);

// "text" cut to `max` bytes on a character boundary, with "…" when cut, and control
// characters shown as '?': for quoting a server's reply or a value in a message.
std::string shorten(std::string_view text, std::size_t max = 160);

}  // namespace convene::net
