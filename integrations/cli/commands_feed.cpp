// convene publish | serve: the feeds, as static files or over HTTP.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "definitions_source.h"
#include "convene/clock.h"
#include "convene/feed_catalog.h"
#include "convene/feed_routes.h"
#include "convene/http.h"
#include "convene/store.h"
#include "convene/remind.h"
#include "convene/web.h"

namespace convene::cli {
namespace {

namespace fs = std::filesystem;

struct FeedSourceOptions {
  std::string file;   // a definitions file; empty: the store (the global --db)
  std::vector<std::string> reminders;  // "PT15M", ...
  std::string uid_domain = "convene";
  InputLimits limits;  // --max-input-size
};

void add_feed_source_options(CLI::App& cmd, FeedSourceOptions& o) {
  cmd.add_option("FILE", o.file, "Definitions file (JSON); default: the store (--db)");
  cmd.add_option("--reminder", o.reminders,
                 "A reminder (VALARM) this long before each session, e.g. PT15M; repeatable");
  cmd.add_option("--uid-domain", o.uid_domain, "The domain part of every UID (default: convene)");
  add_input_limit_option(cmd, o.limits);
}

// A clock that CONVENE_TODAY=YYYY-MM-DD pins (tests, demos), else the real one.
class PinnedClock final : public Clock {
 public:
  explicit PinnedClock(Instant at) : at_(at) {}
  Instant now() const override { return at_; }

 private:
  Instant at_;
};

struct OpenedSource {
  std::unique_ptr<Store> store;
  std::unique_ptr<PinnedClock> clock;
  std::unique_ptr<FeedCatalog> catalog;
};

// Opens the source the options name, or prints why not and returns nullopt.
std::optional<OpenedSource> open_source(const FeedSourceOptions& o, Context& context) {
  OpenedSource out;
  if (!o.file.empty() && !context.global.db.empty()) {
    fail("give either a definitions FILE or --db PATH, not both");
    return std::nullopt;
  }
  FeedCatalogOptions options;
  options.uid_domain = o.uid_domain;
  for (const auto& text : o.reminders) {
    auto d = parse_duration(text);
    if (!d || d->count() < 0) {
      fail("--reminder \"" + text + "\" is not a duration such as PT15M or P1D");
      return std::nullopt;
    }
    options.reminders.push_back(*d);
  }
  if (const char* pinned = std::getenv("CONVENE_TODAY")) {
    auto day = parse_date(pinned);
    if (!day) {
      fail(std::string("CONVENE_TODAY=\"") + pinned + "\" is not a date (YYYY-MM-DD)");
      return std::nullopt;
    }
    out.clock = std::make_unique<PinnedClock>(Instant{day->time_since_epoch()} + std::chrono::hours{12});
    options.clock = out.clock.get();
  }
  std::unique_ptr<FeedSource> source;
  if (o.file.empty()) {
    out.store = Store::open({.path = context.store_path(), .clock = &cli_clock(), .create = false});
    source = FeedSource::store(*out.store);
  } else {
    source = FeedSource::file(o.file, o.limits);
  }
  out.catalog = std::make_unique<FeedCatalog>(std::move(source), options);
  return out;
}

// Writes `content` to `path` through a temporary file and a rename.
void write_atomically(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), std::streamsize(content.size()));
    if (!out) throw std::runtime_error(tmp.string() + ": cannot write");
  }
  fs::rename(tmp, path);
}

int run_publish(const FeedSourceOptions& source_options, const std::string& out_dir, Context& context) {
  auto opened = open_source(source_options, context);
  if (!opened) return 1;
  const std::string base_url = context.base_url();
  FeedCatalog& catalog = *opened->catalog;
  // Render everything first: an error leaves the folder as it was.
  std::vector<std::pair<std::string, std::string>> files;
  auto listings = catalog.listings();
  for (const auto& listing : listings) {
    for (bool expanded : {false, true}) {
      FeedPath path = listing.path;
      path.expanded = expanded;
      auto feed = catalog.get(path);
      if (!feed) return fail("no feed at " + path.to_string());
      files.emplace_back(path.to_string(), feed->body);
    }
  }
  files.emplace_back("index.html", subscribe_page(listings, base_url, catalog.source().describe()));
  for (const auto& [name, content] : files) write_atomically(fs::path(out_dir) / name, content);
  std::cout << "wrote " << files.size() - 1 << " feeds and index.html to " << out_dir << "\n";
  if (base_url.empty())
    std::cout << "(give --base-url https://your.host/path for webcal://, Google and Outlook links)\n";
  return 0;
}

int run_serve(const FeedSourceOptions& source_options, const std::string& listen_flag,
              const http::ServerOptions& base, const std::string& access_log_flag, Context& context) {
  auto opened = open_source(source_options, context);
  if (!opened) return 1;
  const std::string listen = context.settings().value(Setting::listen, listen_flag);
  const std::string access_log = context.settings().value(Setting::access_log, access_log_flag);
  http::ServerOptions options = base;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("--listen \"" + listen + "\" is not HOST:PORT");
  options.host = listen.substr(0, colon);
  if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']')
    options.host = options.host.substr(1, options.host.size() - 2);
  try {
    const int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    options.port = static_cast<unsigned short>(port);
  } catch (const std::exception&) {
    return fail("--listen \"" + listen + "\": the port is not a number from 0 to 65535");
  }
  // Fail early, before listening, when the definitions or the store cannot be read.
  opened->catalog->get(FeedPath{});
  // The server opens the file (and reopens it on SIGHUP).
  options.access_log = access_log == "off" ? "" : access_log;
  options.handle_signals = true;
  options.on_stop = [] { std::cout << "convene: stopping: finishing the requests in flight" << std::endl; };
  http::Router router;
  // Over a definitions file, / stays the subscribe page listing every feed; over the
  // store it is the web's home page.
  const bool over_store = opened->store != nullptr;
  add_feed_routes(router, *opened->catalog, {.base_url = context.base_url(), .subscribe_page = !over_store});
  // The pages, members' pages, the workspace and the API (convene/web.h), on the same port.
  const Clock& clock = opened->clock ? static_cast<const Clock&>(*opened->clock) : cli_clock();
  web::Site site(*opened->catalog, opened->store.get(),
                 {.base_url = context.base_url(), .clock = &clock, .home_page = over_store});
  site.add_routes(router);
  // One-click unsubscribe from reminders (RFC 8058), in integrations/remind.
  if (over_store) remind::add_unsubscribe_routes(router, *opened->store);
  http::Server server(router, options);
  if (auto error = server.listen()) return fail(*error);
  const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  const std::string base_url = "http://" + host + ":" + std::to_string(server.port());
  std::cout << "convene: serving " << opened->catalog->source().describe() << " on " << base_url << "/\n"
            << "  subscribe to every community: webcal://" << host << ":" << server.port()
            << "/feeds/all.ics\n"
            << "  (Ctrl-C or SIGTERM stops after the requests in flight)" << std::endl;
  server.run();
  std::cout << "convene: stopped after " << server.requests() << " requests" << std::endl;
  return 0;
}

}  // namespace

static Registrar feed_commands(30, [](CLI::App& app, Context& context) {
  // --- publish -----------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("publish", "Write every feed and a subscribe page as static files");
    auto source = std::make_shared<FeedSourceOptions>();
    auto out = std::make_shared<std::string>();
    add_feed_source_options(*cmd, *source);
    cmd->add_option("--out", *out, "Folder to write into (created if missing); the global --base-url says "
                                   "where it will be served from (https://example.org/cop)")
        ->required();
    cmd->callback([&context, source, out] {
      try {
        context.exit_code = run_publish(*source, *out, context);
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
  // --- serve -------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("serve", "Serve the feeds and a subscribe page over HTTP");
    auto source = std::make_shared<FeedSourceOptions>();
    auto listen = std::make_shared<std::string>();
    auto options = std::make_shared<http::ServerOptions>();
    auto access_log = std::make_shared<std::string>();
    auto timeout_ms = std::make_shared<int>(10000);
    auto drain_ms = std::make_shared<int>(10000);
    add_feed_source_options(*cmd, *source);
    cmd->add_option("--listen", *listen,
                    "HOST:PORT to listen on; default $CONVENE_LISTEN, else the configuration's listen, else "
                    "127.0.0.1:8080");
    cmd->add_option("--threads", options->threads, "Worker threads (default 2)")->check(CLI::Range(1, 256));
    cmd->add_option("--max-connections", options->max_connections, "Open connections at most (default 512)")
        ->check(CLI::Range(1, 1000000));
    cmd->add_option("--request-timeout-ms", *timeout_ms, "A request must arrive within this (default 10000)")
        ->check(CLI::Range(10, 3600000));
    cmd->add_option("--drain-timeout-ms", *drain_ms,
                    "On SIGTERM, how long requests in flight may take to finish (default 10000)")
        ->check(CLI::Range(0, 3600000));
    cmd->add_option("--max-header-bytes", options->max_header_bytes,
                    "Largest request header block; larger gets 431 (default 8192)")
        ->check(CLI::Range(256, 1048576));
    cmd->add_option("--access-log", *access_log,
                    "File to append the access log to (reopened on SIGHUP), - for standard output, off for "
                    "none; default $CONVENE_ACCESS_LOG, else the configuration's access_log, else -");
    cmd->add_option("--max-body-bytes", options->max_body_bytes,
                    "Largest request body a form or API route reads; larger gets 413 (default 1048576)")
        ->check(CLI::Range(0, 1 << 30));
    cmd->add_option("--trusted-proxy", options->trusted_proxies,
                    "A reverse proxy (ADDRESS or ADDRESS/BITS) whose X-Forwarded-For/-Proto/-Host are "
                    "believed; repeatable");
    cmd->callback([&context, source, listen, options, access_log, timeout_ms, drain_ms] {
      options->request_timeout = std::chrono::milliseconds{*timeout_ms};
      options->drain_timeout = std::chrono::milliseconds{*drain_ms};
      try {
        context.exit_code = run_serve(*source, *listen, *options, *access_log, context);
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
});

}  // namespace convene::cli
