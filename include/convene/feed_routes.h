// convene/feed_routes.h: the feeds, the subscribe page and /healthz, as routes of
// convene/http.h's Router (what `convene serve` serves).
//
//   GET /                  the subscribe page (text/html); also /index.html
//   GET /healthz           {"status":"ok","requests":N,"renders":N,"connections":N} (JSON):
//                          requests parsed, feeds rendered since start (the catalog's
//                          renders(): a feed served from cache does not move it), open
//                          connections
//   GET /feeds/{path...}   the feeds of convene/feed_catalog.h (text/calendar; charset=utf-8)
// (and HEAD for each). Anything else under /feeds/ is the router's 404, the same for an
// unknown id and a wrong member token.
//
// Feeds carry a strong ETag (If-None-Match → 304) and Last-Modified (If-Modified-Since
// → 304, when there is no If-None-Match), gzip when the client accepts it (the gzip
// representation has its own ETag, "...-gz"), Vary: Accept-Encoding, and Cache-Control
// (private for members' feeds). Bodies are the catalog's cached bytes, held while
// written, so a 304 or a repeated GET costs a look-up, not a render.
//
// How to use:
//   convene::FeedCatalog catalog(convene::FeedSource::file("samples/x.json"), {});
//   convene::http::Router router;
//   convene::add_feed_routes(router, catalog, {.base_url = "https://cop.example.org"});
//   convene::http::Server server(router, {.port = 8080});
#pragma once

#include <string>

#include "convene/http.h"

namespace convene {

class FeedCatalog;

struct FeedRoutesOptions {
  // Base URL of the subscribe page's links; empty: the request's (Request::base_url()).
  std::string base_url;
  // Register / and /index.html (the subscribe page); false when the web pages
  // (convene/web.h) serve the home page instead.
  bool subscribe_page = true;
};

// Registers the routes above; `catalog` must outlive the router.
void add_feed_routes(http::Router& router, FeedCatalog& catalog, FeedRoutesOptions options = {});

}  // namespace convene
