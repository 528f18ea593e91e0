#include "internal/curl.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <stdexcept>

namespace convene::net {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("libcurl could not be initialised");
  });
}

void append(Slist& list, const std::string& item) {
  curl_slist* next = curl_slist_append(list.get(), item.c_str());
  if (!next) throw std::bad_alloc();
  list.release();
  list.reset(next);
}

Multi::Multi(std::size_t limit) : limit_(limit == 0 ? 1 : limit) {
  global_init();
  multi_ = curl_multi_init();
  if (!multi_) throw std::bad_alloc();
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, long(limit_));
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, long(limit_));
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, long(limit_));
  for (std::size_t i = 0; i < limit_; ++i) {
    pool_.emplace_back(curl_easy_init());
    if (!pool_.back()) throw std::bad_alloc();
  }
}

Multi::~Multi() {
  // Easy handles first: cleaning the multi closes the cached connections.
  pool_.clear();
  curl_multi_cleanup(multi_);
}

std::size_t Multi::run(std::size_t count, const std::function<bool(std::size_t, CURL*)>& setup,
                       const std::function<bool(std::size_t, CURL*, CURLcode)>& finished) {
  std::vector<CURL*> free;
  for (auto& e : pool_) free.push_back(e.get());
  std::size_t next = 0, active = 0;
  bool stop = false;
  while (true) {
    while (!stop && active < limit_ && next < count) {
      CURL* easy = free.back();
      curl_easy_reset(easy);
      const std::size_t index = next++;
      if (!setup(index, easy)) continue;
      curl_easy_setopt(easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(index));
      free.pop_back();
      curl_multi_add_handle(multi_, easy);
      ++active;
    }
    if (active == 0) break;
    int running = 0;
    curl_multi_perform(multi_, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      void* index = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &index);
      curl_multi_remove_handle(multi_, easy);
      --active;
      free.push_back(easy);
      if (!finished(reinterpret_cast<std::size_t>(index), easy, code)) stop = true;
    }
    if (active > 0) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
  return next;
}

Workers::Workers(std::size_t limit) {
  global_init();
  for (std::size_t i = 0; i < (limit == 0 ? 1 : limit); ++i) {
    pool_.emplace_back(curl_easy_init());
    if (!pool_.back()) throw std::bad_alloc();
  }
}

Workers::~Workers() = default;

namespace {

// What the calling thread and the worker threads of one Workers::run share.
struct Shared {
  struct Slot {
    CURL* easy = nullptr;
    bool handed = false;     // a transfer handed over, not yet taken by the slot's thread
    std::size_t index = 0;   // the transfer the slot carries
  };
  std::mutex mutex;
  std::condition_variable to_workers, to_caller;
  std::vector<Slot> slots;
  std::deque<std::pair<std::size_t, CURLcode>> done;  // (slot, result), in completion order
  bool quit = false;

  void work(std::size_t s) {
    std::unique_lock lock(mutex);
    while (true) {
      to_workers.wait(lock, [&] { return quit || slots[s].handed; });
      if (quit) return;
      slots[s].handed = false;
      lock.unlock();
      const CURLcode code = curl_easy_perform(slots[s].easy);
      lock.lock();
      done.emplace_back(s, code);
      to_caller.notify_one();
    }
  }
};

}  // namespace

std::size_t Workers::run(std::size_t count, const std::function<bool(std::size_t, CURL*)>& setup,
                         const std::function<bool(std::size_t, CURL*, CURLcode)>& finished) {
  if (count == 0) return 0;
  Shared shared;
  for (auto& e : pool_) shared.slots.push_back({e.get(), false, 0});
  std::vector<std::thread> threads;
  // Every thread is stopped and joined however run() ends (a callback may throw): a
  // transfer in progress finishes first, within the timeouts its setup gave it.
  struct Join {
    Shared& shared;
    std::vector<std::thread>& threads;
    ~Join() {
      {
        std::lock_guard lock(shared.mutex);
        shared.quit = true;
      }
      shared.to_workers.notify_all();
      for (auto& t : threads) t.join();
    }
  } join{shared, threads};
  for (std::size_t s = 0; s < shared.slots.size(); ++s) threads.emplace_back([&shared, s] { shared.work(s); });

  std::vector<std::size_t> free;
  for (std::size_t s = shared.slots.size(); s-- > 0;) free.push_back(s);
  std::size_t next = 0, active = 0;
  bool stop = false;
  while (true) {
    while (!stop && !free.empty() && next < count) {
      const std::size_t s = free.back();
      CURL* easy = shared.slots[s].easy;
      curl_easy_reset(easy);
      const std::size_t index = next++;
      if (!setup(index, easy)) continue;
      free.pop_back();
      {
        std::lock_guard lock(shared.mutex);
        shared.slots[s].index = index;
        shared.slots[s].handed = true;
      }
      shared.to_workers.notify_all();
      ++active;
    }
    if (active == 0) break;
    std::deque<std::pair<std::size_t, CURLcode>> completed;
    {
      std::unique_lock lock(shared.mutex);
      shared.to_caller.wait(lock, [&] { return !shared.done.empty(); });
      completed.swap(shared.done);
    }
    for (const auto& [s, code] : completed) {
      --active;
      free.push_back(s);
      if (!finished(shared.slots[s].index, shared.slots[s].easy, code)) stop = true;
    }
  }
  return next;
}

std::optional<UrlParts> parse_url(std::string_view url) {
  global_init();
  CURLU* u = curl_url();
  if (!u) throw std::bad_alloc();
  const std::string text(url);
  std::optional<UrlParts> out;
  if (curl_url_set(u, CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
    UrlParts p;
    auto get = [&](CURLUPart part, std::string& into) {
      char* value = nullptr;
      if (curl_url_get(u, part, &value, 0) == CURLUE_OK && value) into = value;
      curl_free(value);
    };
    get(CURLUPART_SCHEME, p.scheme);
    get(CURLUPART_HOST, p.host);
    get(CURLUPART_PORT, p.port);
    get(CURLUPART_PATH, p.path);
    get(CURLUPART_USER, p.user);
    get(CURLUPART_PASSWORD, p.password);
    get(CURLUPART_QUERY, p.query);
    get(CURLUPART_FRAGMENT, p.fragment);
    out = std::move(p);
  }
  curl_url_cleanup(u);
  return out;
}

std::string shorten(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t i = 0;
  for (; i < text.size() && out.size() < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : char(c);
  }
  if (i < text.size()) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
    out += "…";
  }
  return out;
}

}  // namespace convene::net
