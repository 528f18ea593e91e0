// The site's shared state (Site::Impl) and the route groups registered over it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "convene/accounts.h"
#include "convene/archive.h"
#include "convene/feed_catalog.h"
#include "convene/http.h"
#include "convene/store.h"
#include "convene/web.h"
#include "internal.h"

namespace convene::web {

struct Site::Impl {
  FeedCatalog& catalog;
  Store* store;  // nullptr over a definitions file
  SiteOptions options;
  const Clock& clock;
  std::unique_ptr<Accounts> accounts;         // with a store
  std::unique_ptr<ArchiveIndex> archive;

  Impl(FeedCatalog& c, Store* s, SiteOptions o);

  // The data every page renders from: the catalog's current snapshot, now, the base URL.
  internal::SiteData data(const http::Request& req);
  // The archive, brought to the snapshot's state.
  const ArchiveIndex& archive_for(const internal::SiteData& data);
  // The CSRF key (kept in the store; for a definitions file, this process's).
  const std::string& csrf_key();

  // Public pages, cached per (path, data version) until they go stale (see web.h).
  struct Cached {
    std::uint64_t version = 0;
    Instant valid_until{};
    int status = 200;
    std::shared_ptr<const std::string> html;
    std::string etag;
  };
  std::mutex cache_mutex;
  std::unordered_map<std::string, Cached> cache;
  std::uint64_t snapshot_version = 0;

 private:
  std::mutex key_mutex;
  std::string key;
};

namespace internal {

// Security headers every page gets, and the page itself.
// `referrer`: the Referrer-Policy ("no-referrer" on pages whose address is a credential).
void send_page(const http::Request& req, http::Response& res, int status, std::string html,
               std::string_view cache_control = "no-store", std::string_view referrer = "same-origin");
// A page of the frame with a heading and a paragraph (errors, "not available").
void send_message(const http::Request& req, http::Response& res, int status, std::string_view title,
                  std::string_view text);

void add_public_routes(Site::Impl& site, http::Router& router);
void add_member_routes(Site::Impl& site, http::Router& router);
void add_workspace_routes(Site::Impl& site, http::Router& router);
void add_api_routes(Site::Impl& site, http::Router& router);

// The largest form the site reads (a session's details with its resources).
inline constexpr std::size_t kMaxFormBytes = 64 * 1024;

}  // namespace internal
}  // namespace convene::web
