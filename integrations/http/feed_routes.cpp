// The feeds, the subscribe page and /healthz as routes (convene/feed_routes.h).
#include "convene/feed_routes.h"

#include <string>
#include <string_view>

#include "convene/feed_catalog.h"

namespace convene {

namespace {

using http::Request;
using http::Response;

void serve_feed(FeedCatalog& catalog, const Request& req, Response& res) {
  const auto path = parse_feed_path(req.path());
  if (!path) return void(res.error(404));
  auto feed = catalog.get(*path);
  if (!feed) return void(res.error(404));
  const bool gz = !feed->gzip.empty() && http::accepts_gzip(req.header("Accept-Encoding"));
  const std::string& etag = gz ? feed->gzip_etag : feed->etag;
  bool not_modified = false;
  if (req.has_header("If-None-Match")) {
    not_modified = http::etag_listed(req.header("If-None-Match"), {feed->etag, feed->gzip_etag});
  } else if (req.has_header("If-Modified-Since")) {
    auto since = parse_http_date(req.header("If-Modified-Since"));
    not_modified = since && feed->last_modified <= *since;
  }
  res.status(not_modified ? 304 : 200)
      .header("ETag", etag)
      .header("Last-Modified", feed->last_modified_http)
      .cache(path->kind == FeedPath::Kind::member ? "private, max-age=300" : "public, max-age=300")
      .header("Vary", "Accept-Encoding");
  if (not_modified) return;
  res.type("text/calendar; charset=utf-8");
  if (gz) res.header("Content-Encoding", "gzip");
  const std::string& bytes = gz ? feed->gzip : feed->body;
  res.body(std::move(feed), bytes);
}

}  // namespace

void add_feed_routes(http::Router& router, FeedCatalog& catalog, FeedRoutesOptions options) {
  auto page = [&catalog, base = options.base_url](const Request& req, Response& res) {
    res.html(200, subscribe_page(catalog.listings(), base.empty() ? req.base_url() : base, catalog.source().describe()))
        .cache("no-cache");
  };
  if (options.subscribe_page) {
    router.get("/", page);
    router.get("/index.html", page);
  }
  router.get("/healthz", [&catalog](const Request& req, Response& res) {
    std::string body = "{\"status\":\"ok\",\"requests\":" + std::to_string(req.stats().requests) +
                       ",\"renders\":" + std::to_string(catalog.renders()) +
                       ",\"connections\":" + std::to_string(req.stats().connections) + "}\n";
    res.status(200).type("application/json").cache("no-store").body(std::move(body));
  });
  router.get("/feeds/{path...}", [&catalog](const Request& req, Response& res) { serve_feed(catalog, req, res); });
}

}  // namespace convene
