// convene import | export | reschedule | cancel | restore | edit | split | close |
// history | revision | member ... | subscribe | unsubscribe: the store's verbs.
//
// Every verb works on the store (the global --db PATH, see Context::store_path()); every
// change records one audit entry of who (the global --as NAME, default: the OS user) and
// why (--reason). Results go to
// standard output; errors to standard error as "convene: error: ...", with nothing on
// standard output and a non-zero exit. CONVENE_NOW=YYYY-MM-DDTHH:MM:SSZ pins the clock
// (tests, demos).
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "webhook_options.h"
#include "convene/change_warnings.h"
#include "convene/store.h"
#include "convene/validate.h"
#include "convene/views.h"
#include "definitions_source.h"

namespace convene::cli {

std::string actor(const Context& context) {
  if (!context.global.actor.empty()) return context.global.actor;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user && *user) return user;
  return "unknown";
}

namespace {

// CONVENE_BUSY_TIMEOUT_MS: how long a verb waits for another process's write before it
// says the store is locked (default StoreOptions::busy_timeout), 0 to kMaxBusyTimeout.
constexpr std::chrono::milliseconds kMaxBusyTimeout{600'000};

std::chrono::milliseconds busy_timeout(std::string_view text) {
  long long ms = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc{} || end != text.data() + text.size() || ms < 0 || ms > kMaxBusyTimeout.count()) {
    throw std::runtime_error("CONVENE_BUSY_TIMEOUT_MS=" + quote_value(text) + " is not a number of milliseconds from 0 to " + std::to_string(kMaxBusyTimeout.count()));
  }
  return std::chrono::milliseconds{ms};
}

}  // namespace

std::unique_ptr<Store> open_store(Context& context, bool create) {
  cli_clock().now();  // a malformed CONVENE_NOW is said before anything else
  StoreOptions options;
  options.path = context.store_path();
  options.clock = &cli_clock();
  options.create = create;
  if (const char* ms = std::getenv("CONVENE_BUSY_TIMEOUT_MS"); ms && *ms) options.busy_timeout = busy_timeout(ms);
  try {
    return Store::open(options);
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::not_found) {
      throw StoreError(e.kind(), std::string(e.what()) +
                                     ": run `convene import FILE` first, or choose a store with --db PATH");
    }
    throw;
  }
}

namespace {

struct StoreVerbOptions {
  std::string reason;
  std::string format;  // text or json
  std::optional<std::uint64_t> expect_revision;
  bool dry_run = false;
};

// --reason (and, with the global --as, who): what every change records; --format of
// what it prints; --dry-run, which every change verb takes.
void add_change_options(CLI::App& cmd, StoreVerbOptions& o, bool reason = true, bool format = true) {
  if (reason) cmd.add_option("--reason", o.reason, "Why (shown in preview and history)");
  if (format) add_format_option(cmd, o.format, {"text", "json"});
  add_dry_run_option(cmd, o.dry_run);
}

// --webhook-url, --webhook-url-file and --key-file of `member add` and `member set`
// (webhook_options.h).
void add_webhook_options(CLI::App& cmd, WebhookUrlFlags& webhook, std::string& key_file) {
  cmd.add_option("--key-file", key_file, "The key file sealing the webhook URL (default: $CONVENE_KEY_FILE, else DB.key)");
  add_webhook_url_flags(cmd, webhook, "The webhook of channel \"webhook\"");
}

ChangeContext context_of(const StoreVerbOptions& o, const Context& context) {
  ChangeContext c;
  c.actor = actor(context);
  if (!o.reason.empty()) c.reason = o.reason;
  c.expect_revision = o.expect_revision;
  c.dry_run = o.dry_run;
  return c;
}

// A store of its own, in a new folder under the system's temporary folder that goes with
// it: where a rehearsal makes what it must not make in the real store.
class ScratchStore {
 public:
  ScratchStore() {
    std::string name = (std::filesystem::temp_directory_path() / "convene-rehearsal-XXXXXX").string();
    if (!::mkdtemp(name.data())) throw std::runtime_error("cannot create a temporary folder for the rehearsal");
    folder_ = name;
    try {
      StoreOptions options;
      options.path = (folder_ / "rehearsal.db").string();
      options.clock = &cli_clock();
      store_ = Store::open(options);
    } catch (...) {
      remove();
      throw;
    }
  }
  ~ScratchStore() { remove(); }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;
  Store& store() { return *store_; }

 private:
  void remove() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
  std::filesystem::path folder_;
  std::unique_ptr<Store> store_;
};

// The store a change works on. A rehearsal of a change that would create the store (the
// first import, the first member) works on a scratch store instead, so that not even
// the file is written.
struct StoreForChange {
  std::unique_ptr<ScratchStore> scratch;
  std::unique_ptr<Store> real;
  Store* store = nullptr;
};
StoreForChange open_for_change(Context& context, bool creates, bool dry_run) {
  StoreForChange out;
  if (dry_run && creates && !std::filesystem::exists(context.store_path())) {
    out.scratch = std::make_unique<ScratchStore>();
    out.store = &out.scratch->store();
  } else {
    out.real = open_store(context, creates && !dry_run);
    out.store = out.real.get();
  }
  return out;
}

[[noreturn]] void refuse(const std::string& message) { throw StoreError(StoreError::Kind::invalid, message); }

std::optional<Seconds> read_duration(const std::string& text, const char* option) {
  if (text.empty()) return std::nullopt;
  auto d = parse_duration(text);
  if (!d) refuse(std::string(option) + " \"" + text + "\" is not a duration (PT1H, PT90M)");
  if (d->count() <= 0) refuse(std::string(option) + " \"" + text + "\" is not positive");
  return d;
}

LocalDay read_day(const std::string& text, const char* what) {
  if (auto why = date_problem(text)) refuse(std::string(what) + " " + *why);  // also outside 1900..2200
  return *parse_date(text);
}

}  // namespace

// An occurrence named by its original start (YYYY-MM-DDTHH:MM) or, when the series has
// one session that day, by its date (commands.h; convene attendance uses it too).
LocalTime read_occurrence(Store& store, const std::string& series, const std::string& text) {
  if (auto t = parse_local_minute(text)) return *t;
  auto day = parse_date(text);
  if (!day) {
    refuse("OCCURRENCE \"" + text +
           "\" is not an occurrence id (YYYY-MM-DDTHH:MM) or a date (YYYY-MM-DD) that exists");
  }
  auto on = store.occurrences_on(series, *day);
  if (on.size() == 1) return on.front();
  if (on.size() > 1) {
    std::string ids;
    for (auto t : on) ids += (ids.empty() ? "" : ", ") + format_local_minute(t);
    refuse("series \"" + series + "\" has " + std::to_string(on.size()) + " occurrences on " + text +
           " (" + ids + "): name one by its start");
  }
  // None that day: let the store say so, with the nearest ones.
  auto loaded = store.load();
  if (loaded.ok()) {
    if (auto [c, s] = loaded.definitions->find_series(series); s) {
      return LocalTime{*day} + (s->start - LocalTime{date::floor<date::days>(s->start)});
    }
  }
  return LocalTime{*day};
}

namespace {

void print_change(const ChangeResult& r, const ChangeContext& c, const StoreVerbOptions& o) {
  std::cout << (o.format == "json" ? views::change_json(r, c, r.dry_run).dump(2) + "\n"
                                   : views::change_text(r, c, r.dry_run));
}

std::optional<std::string> optional_arg(const std::string& value, bool given) {
  if (!given) return std::nullopt;
  return value;
}

Subscription read_target(const std::string& text, Store& store) {
  if (text.rfind("series:", 0) == 0) return {Subscription::Kind::series, text.substr(7)};
  if (text.rfind("community:", 0) == 0) return {Subscription::Kind::community, text.substr(10)};
  auto loaded = store.load();
  if (loaded.ok()) {
    const bool is_series = loaded.definitions->find_series(text).second != nullptr;
    bool is_community = false;
    for (const auto& c : loaded.definitions->communities) is_community |= c.id == text;
    if (is_series && is_community) {
      refuse("\"" + text + "\" is both a series and a community: write series:" + text + " or community:" + text);
    }
    if (is_community) return {Subscription::Kind::community, text};
  }
  return {Subscription::Kind::series, text};
}

// --digest "MO 07:00" (a weekday and a local time in the member's zone), or "none".
std::optional<DigestTime> read_digest(const std::string& text) {
  if (text == "none") return std::nullopt;
  if (auto d = parse_digest_time(text)) return d;
  refuse("--digest \"" + text.substr(0, 40) +
         "\" is not a weekday and a local time: write it as MO 07:00 (MO TU WE TH FR SA SU, 24-hour HH:MM), or none");
}

std::vector<Seconds> read_offsets(const std::vector<std::string>& texts) {
  std::vector<Seconds> out;
  for (const auto& t : texts) {
    if (t == "none") continue;
    auto d = parse_duration(t);
    if (!d || d->count() < 0) refuse("--remind \"" + t + "\" is not a duration before the start (PT15M, P1D)");
    out.push_back(*d);
  }
  return out;
}

// The days a change's warnings look at: around `first` and `last` (the dates it touches)
// and today, by kChangeWarningWindow.
Window warning_window(LocalDay first, LocalDay last) {
  const LocalDay today{date::floor<date::days>(cli_clock().now()).time_since_epoch()};
  return {std::min(first, today) - kChangeWarningWindow.before, std::max(last, today) + kChangeWarningWindow.after};
}

// The series a change touched: `series`, and any the change added (a split's new one).
std::vector<std::string> touched_series(const Definitions& before, const Definitions& after, const std::string& series) {
  std::vector<std::string> ids{series};
  for (const auto& c : after.communities)
    for (const auto& s : c.series)
      if (!before.find_series(s.id).second) ids.push_back(s.id);
  return ids;
}

// At most this many warnings are printed one by one; the rest are counted.
constexpr std::size_t kWarningsShown = 5;

// Prints what the store accepted (or would accept) but a facilitator should hear
// (change_warnings.h), on standard error after the result.
// Returns how many there were.
std::size_t warn_about(const Definitions& before, const Definitions& after, const std::string& series, Window window) {
  std::cout.flush();  // the result first, then its warnings, also when both go to one pipe
  const auto warnings = change_warnings(before, after, touched_series(before, after, series), cli_clock().now(), window);
  for (std::size_t i = 0; i < warnings.size() && i < kWarningsShown; ++i) warn(warnings[i].message);
  if (warnings.size() > kWarningsShown) {
    warn("... and " + std::to_string(warnings.size() - kWarningsShown) +
         " more like these (convene preview shows every session)");
  }
  return warnings.size();
}

// The command that puts one session back as `before` had it, after a move: restore
// when it was at its scheduled time, else the move, duration or cancel it had.
std::string undo_command(const Definitions& before, const std::string& series, LocalTime original) {
  const std::string session = series + " " + format_local_minute(original);
  for (const auto& o : before.overrides) {
    if (o.series != series || o.occurrence != original) continue;
    if (o.cancel) return "convene cancel " + session;
    if (!o.move_to && !o.duration) break;
    return "convene reschedule " + session + " --to " + format_local_minute(o.move_to.value_or(original)) +
           (o.duration ? " --duration " + format_duration(*o.duration) : "");
  }
  return "convene restore " + session;
}

// What a rehearsed change would leave: the same change, made for real on a scratch
// store (a temporary file, removed after) that holds the same definitions. The store
// itself rolled the rehearsal back; this is only for its warnings.
template <class Change>
std::optional<Definitions> rehearsed(const Definitions& before, ChangeContext c, const Change& change) {
  ScratchStore scratch;
  ChangeContext setup;
  setup.actor = c.actor;
  scratch.store().import_definitions(before, setup);
  c.dry_run = false;
  c.expect_revision.reset();
  change(scratch.store(), c);
  auto after = scratch.store().load();
  return after.ok() ? std::optional<Definitions>(std::move(*after.definitions)) : std::nullopt;
}

// Runs (or rehearses) a change to `series` and prints its result, then its warnings.
// `change(store, context)` makes it. When a change that was made earns warnings and
// `moved` names the one session it moved, the last line says how to put it back.
template <class Change>
void change_with_warnings(Store& store, const std::string& series, Window window, const ChangeContext& c,
                          const StoreVerbOptions& o, Change change, std::optional<LocalTime> moved = std::nullopt) {
  const auto before = store.load();
  const ChangeResult result = change(store, c);
  print_change(result, c, o);
  if (!result.changed || !before.ok()) return;
  std::optional<Definitions> after;
  if (result.dry_run) {
    try {
      after = rehearsed(*before.definitions, c, change);
    } catch (const std::exception& e) {
      std::cout.flush();
      warn(std::string("the rehearsal's warnings could not be worked out: ") + e.what());
    }
  } else if (auto loaded = store.load(); loaded.ok()) {
    after = std::move(*loaded.definitions);
  }
  if (!after || warn_about(*before.definitions, *after, series, window) == 0) return;
  if (moved && !result.dry_run) {
    warn("the move was made; `" + undo_command(*before.definitions, series, *moved) + "` undoes it");
  }
}

views::MemberView member_view(const Store& store, const Member& m) {
  return {m, store.subscriptions(m.id), store.subscribed_series(m.id)};
}

// The links of a member's feed need the public base URL; without one, only the path.
std::optional<std::string> base_links(Context& context) {
  const std::string base = context.base_url();
  return base.empty() ? std::nullopt : std::optional(base);
}

void print_token(const IssuedToken& issued, const std::optional<std::string>& base, bool rotated,
                 const StoreVerbOptions& o) {
  std::optional<views::FeedLinks> links;
  if (base) links = views::feed_links(*base, FeedPath{FeedPath::Kind::member, issued.token, false});
  std::cout << (o.format == "json" ? views::issued_token_json(issued, links, o.dry_run).dump(2) + "\n"
                                   : views::issued_token_text(issued, links, rotated, o.dry_run));
}

// A member verb's one-line result; rehearsed: what it would do, and that nothing was written.
std::string outcome(const StoreVerbOptions& o, bool changed, const std::string& done, const std::string& would,
                    const std::string& already) {
  if (!changed) return already + "; nothing changed\n";
  return o.dry_run ? "dry run: " + would + "; nothing was written\n" : done + "\n";
}

}  // namespace

static Registrar store_commands(20, [](CLI::App& app, Context& context) {
  // --- import ------------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("import", "Load a definitions file into the store (one transaction)");
    auto o = std::make_shared<StoreVerbOptions>();
    auto file = std::make_shared<std::string>();
    auto prefer = std::make_shared<std::string>();
    auto limits = std::make_shared<InputLimits>();
    cmd->add_option("FILE", *file, "Definitions file (JSON)")->required();
    cmd->add_option("--prefer", *prefer,
                    "Where the file and a change made with the CLI since the last import disagree: take the "
                    "file's version, or keep the store's (default: refuse, listing them)")
        ->check(CLI::IsMember({"file", "store"}));
    add_change_options(*cmd, *o);
    add_input_limit_option(*cmd, *limits);
    cmd->callback([&context, o, file, prefer, limits] {
      guarded(context, [&] {
        auto loaded = load_definitions(*file, *limits);
        if (!loaded.ok()) {
          for (const auto& d : loaded.diagnostics) report(d);
          context.exit_code = fail(*file + " was not imported: it has errors (nothing was changed)");
          return;
        }
        for (const auto& d : loaded.diagnostics) report(d);
        auto opened = open_for_change(context, true, o->dry_run);
        Store* store = opened.store;
        const auto c = context_of(*o, context);
        ImportOptions options;
        if (*prefer == "file") options.prefer = ImportPreference::file;
        if (*prefer == "store") options.prefer = ImportPreference::store;
        print_change(store->import_definitions(*loaded.definitions, c, options), c, *o);
      });
    });
  }
  // --- export ------------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("export", "Write the store's definitions in the definitions format");
    cmd->callback([&context] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const std::string text = store->export_json().dump(2) + "\n";
        std::cout << text;
      });
    });
  }
  // --- reschedule ----------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("reschedule", "Move one session to another start");
    auto o = std::make_shared<StoreVerbOptions>();
    auto series = std::make_shared<std::string>();
    auto occurrence = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    auto duration = std::make_shared<std::string>();
    cmd->add_option("SERIES", *series, "Series id")->required();
    cmd->add_option("OCCURRENCE", *occurrence, "Occurrence id (its original start) or date")->required();
    cmd->add_option("--to", *to, "New local start YYYY-MM-DDTHH:MM (or a date: same time)")->required();
    cmd->add_option("--duration", *duration, "New duration (PT90M)");
    cmd->add_option("--expect-revision", o->expect_revision, "Refuse if the session is no longer at this revision");
    add_change_options(*cmd, *o);
    cmd->callback([&context, o, series, occurrence, to, duration] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const LocalTime original = read_occurrence(*store, *series, *occurrence);
        LocalTime target;
        if (auto t = parse_local_minute(*to)) {
          if (auto why = local_time_problem(*to)) refuse("--to " + *why);  // outside 1900..2200
          target = *t;
        } else if (auto d = parse_date(*to)) {
          target = LocalTime{*d} + (original - LocalTime{date::floor<date::days>(original)});
        } else {
          refuse("--to \"" + *to + "\" is not a local start (YYYY-MM-DDTHH:MM) or a date that exists");
        }
        const auto c = context_of(*o, context);
        const auto length = read_duration(*duration, "--duration");
        const Window window = warning_window(date::floor<date::days>(std::min(original, target)),
                                             date::floor<date::days>(std::max(original, target)));
        change_with_warnings(*store, *series, window, c, *o, [&](Store& s, const ChangeContext& cc) {
          return s.reschedule(*series, original, target, length, cc);
        }, original);
      });
    });
  }
  // --- cancel / restore ------------------------------------------------------------------
  for (const char* name : {"cancel", "restore"}) {
    const bool cancel = std::string(name) == "cancel";
    auto* cmd = app.add_subcommand(name, cancel ? "Cancel one session" : "Undo a cancel or a move of one session");
    auto o = std::make_shared<StoreVerbOptions>();
    auto series = std::make_shared<std::string>();
    auto occurrence = std::make_shared<std::string>();
    cmd->add_option("SERIES", *series, "Series id")->required();
    cmd->add_option("OCCURRENCE", *occurrence, "Occurrence id (its original start) or date")->required();
    cmd->add_option("--expect-revision", o->expect_revision, "Refuse if the session is no longer at this revision");
    add_change_options(*cmd, *o);
    cmd->callback([&context, o, series, occurrence, cancel] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const LocalTime original = read_occurrence(*store, *series, *occurrence);
        const auto c = context_of(*o, context);
        print_change(cancel ? store->cancel(*series, original, c) : store->restore(*series, original, c), c, *o);
      });
    });
  }
  // --- edit ------------------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("edit", "Change one session's title, description, presenter, links, agenda");
    auto o = std::make_shared<StoreVerbOptions>();
    auto series = std::make_shared<std::string>();
    auto occurrence = std::make_shared<std::string>();
    struct Fields {
      std::string title, description, presenter, join_url, location, agenda;
      std::vector<std::string> resources;
      bool clear_resources = false;
    };
    auto f = std::make_shared<Fields>();
    cmd->add_option("SERIES", *series, "Series id")->required();
    cmd->add_option("OCCURRENCE", *occurrence, "Occurrence id (its original start) or date")->required();
    auto* title = cmd->add_option("--title", f->title, "Session title (\"\" clears)");
    auto* description = cmd->add_option("--description", f->description, "Description (\"\" clears)");
    auto* presenter = cmd->add_option("--presenter", f->presenter, "Presenter (\"\" clears)");
    auto* join = cmd->add_option("--join-url", f->join_url, "Join link (\"\" clears)");
    auto* location = cmd->add_option("--location", f->location, "Location (\"\" clears)");
    auto* agenda = cmd->add_option("--agenda", f->agenda, "Agenda (\"\" clears)");
    auto* resources = cmd->add_option("--resource", f->resources, "A resource link \"TITLE|URL\" (repeat; replaces the list)");
    cmd->add_flag("--clear-resources", f->clear_resources, "Remove every resource link");
    cmd->add_option("--expect-revision", o->expect_revision, "Refuse if the session is no longer at this revision");
    add_change_options(*cmd, *o);
    cmd->callback([&context, o, series, occurrence, f, title, description, presenter, join, location, agenda, resources] {
      guarded(context, [&] {
        OccurrenceEdit e;
        e.title = optional_arg(f->title, title->count() > 0);
        e.description = optional_arg(f->description, description->count() > 0);
        e.presenter = optional_arg(f->presenter, presenter->count() > 0);
        e.join_url = optional_arg(f->join_url, join->count() > 0);
        e.location = optional_arg(f->location, location->count() > 0);
        e.agenda = optional_arg(f->agenda, agenda->count() > 0);
        // Links and addresses are checked here to name the flag (convene/validate.h); the
        // store checks every field again, for every caller. "" clears the link.
        if (auto why = f->join_url.empty() ? std::nullopt : url_problem(f->join_url)) refuse("--join-url: " + *why);
        if (resources->count() > 0 || f->clear_resources) {
          std::vector<Resource> list;
          for (const auto& r : f->resources) {
            const auto bar = r.rfind('|');
            Resource res;
            res.url = bar == std::string::npos ? r : r.substr(bar + 1);
            res.title = bar == std::string::npos ? r : r.substr(0, bar);
            if (auto why = url_problem(res.url)) refuse("--resource: " + *why + " (write \"TITLE|https://...\")");
            list.push_back(std::move(res));
          }
          e.resources = std::move(list);
        }
        auto store = open_store(context, false);
        const LocalTime original = read_occurrence(*store, *series, *occurrence);
        const auto c = context_of(*o, context);
        print_change(store->edit(*series, original, e, c), c, *o);
      });
    });
  }
  // --- split -------------------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("split", "Change a series from a date on (this and all following)");
    auto o = std::make_shared<StoreVerbOptions>();
    auto series = std::make_shared<std::string>();
    struct Fields {
      std::string from, start, duration, rrule, id, title;
    };
    auto f = std::make_shared<Fields>();
    cmd->add_option("SERIES", *series, "Series id")->required();
    cmd->add_option("--from", f->from, "First day of the new series (YYYY-MM-DD)")->required();
    cmd->add_option("--start", f->start, "New time of day HH:MM, or the first new start YYYY-MM-DDTHH:MM");
    cmd->add_option("--duration", f->duration, "New duration (PT90M)");
    cmd->add_option("--rrule", f->rrule, "New rule (default: the old one)");
    cmd->add_option("--id", f->id, "Id of the new series (default SERIES-from-DATE)");
    cmd->add_option("--title", f->title, "Title of the new series");
    cmd->add_option("--expect-revision", o->expect_revision, "Refuse if the series is no longer at this revision");
    add_change_options(*cmd, *o);
    cmd->callback([&context, o, series, f] {
      guarded(context, [&] {
        SplitSpec spec;
        spec.from = read_day(f->from, "--from");
        if (!f->start.empty()) {
          if (auto t = parse_local_minute(f->start)) {
            spec.start = *t;
          } else if (auto tod = parse_local_minute("2000-01-01T" + f->start)) {
            spec.time_of_day = Seconds{*tod - LocalTime{date::floor<date::days>(*tod)}};
          } else {
            refuse("--start \"" + f->start + "\" is not a time of day (HH:MM) or a local start (YYYY-MM-DDTHH:MM)");
          }
        }
        spec.duration = read_duration(f->duration, "--duration");
        if (!f->rrule.empty()) spec.rrule = f->rrule;
        if (!f->id.empty()) spec.new_id = f->id;
        if (!f->title.empty()) spec.title = f->title;
        auto store = open_store(context, false);
        const auto c = context_of(*o, context);
        const LocalDay first = spec.start ? date::floor<date::days>(*spec.start) : spec.from;
        change_with_warnings(*store, *series, warning_window(std::min(first, spec.from), std::max(first, spec.from)), c,
                             *o, [&](Store& s, const ChangeContext& cc) { return s.split(*series, spec, cc); });
      });
    });
  }
  // --- close and reopen --------------------------------------------------------------------
  // Both name a calendar and a day range; close adds a closure (a snow day), reopen
  // removes the closure of exactly that range.
  for (const bool closing : {true, false}) {
    auto* cmd = closing
                    ? app.add_subcommand("close", "Add a closure (a snow day) to a calendar; observing series follow their policy")
                    : app.add_subcommand("reopen", "Remove a closure again (the snow day that was not); observing series return to their schedule");
    auto o = std::make_shared<StoreVerbOptions>();
    auto calendar = std::make_shared<std::string>();
    auto day = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    cmd->add_option("CALENDAR", *calendar, "Calendar id")->required();
    cmd->add_option("DATE", *day, "First day of the closure (YYYY-MM-DD)")->required();
    cmd->add_option("--to", *to, "Last day of the closure, inclusive (default DATE)");
    if (closing) cmd->add_option("--name", *name, "What it is (\"Snow day\")")->required();
    add_change_options(*cmd, *o);
    cmd->callback([&context, closing, o, calendar, day, to, name] {
      guarded(context, [&] {
        const LocalDay from = read_day(*day, "DATE");
        const LocalDay last = to->empty() ? from : read_day(*to, "--to");
        auto store = open_store(context, false);
        const auto c = context_of(*o, context);
        print_change(closing ? store->close(*calendar, Closure{*name, from, last}, c)
                             : store->reopen(*calendar, from, last, c),
                     c, *o);
      });
    });
  }
  // --- history -----------------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("history", "The audit trail: who changed what, when and why");
    auto series = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>();
    auto limit = std::make_shared<std::size_t>(0);
    cmd->add_option("--series", *series, "Only changes that touched this series");
    cmd->add_option("--limit", *limit, "Only the most recent N");
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, series, format, limit] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        HistoryQuery q;
        if (!series->empty()) q.series = *series;
        if (*limit) q.limit = *limit;
        const auto records = store->history(q);
        std::cout << (*format == "json" ? views::history_json(records).dump(2) + "\n"
                                        : views::history_text(records, q.series));
      });
    });
  }
  // --- revision ------------------------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("revision", "Show the revision of a series or one session (for --expect-revision)");
    auto series = std::make_shared<std::string>();
    auto occurrence = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>();
    cmd->add_option("SERIES", *series, "Series id")->required();
    cmd->add_option("OCCURRENCE", *occurrence, "Occurrence id or date");
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, series, occurrence, format] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        auto loaded = store->load();
        if (loaded.ok() && !loaded.definitions->find_series(*series).second)
          refuse("no series \"" + *series + "\" in store " + store->path());
        std::optional<LocalTime> original;
        if (!occurrence->empty()) original = read_occurrence(*store, *series, *occurrence);
        const Revision r = original ? store->occurrence_revision(*series, *original) : store->series_revision(*series);
        std::cout << (*format == "json" ? views::revision_json(*series, original, r).dump(2) + "\n"
                                        : views::revision_text(*series, original, r));
      });
    });
  }
  // --- member ... ------------------------------------------------------------------------------
  {
    auto* member = app.add_subcommand("member", "Members: add, remove, set, rotate-token, list, show");
    member->require_subcommand(1);
    struct Fields {
      std::string id, name, email, timezone, channel, digest, key_file;
      WebhookUrlFlags webhook;
      std::vector<std::string> remind;
      bool clear_timezone = false;
    };
    {
      auto* cmd = member->add_subcommand("add", "Add a member; prints their private feed link once");
      auto o = std::make_shared<StoreVerbOptions>();
      auto f = std::make_shared<Fields>();
      f->channel = "email";
      cmd->add_option("ID", f->id, "Member id (letters, digits, - _ . @)")->required();
      cmd->add_option("--email", f->email, "Email address")->required();
      cmd->add_option("--name", f->name, "Display name (default ID)");
      cmd->add_option("--timezone", f->timezone, "Display time zone (IANA, e.g. America/New_York)");
      cmd->add_option("--remind", f->remind, "Reminder before each session (PT15M, P1D; repeat)");
      cmd->add_option("--channel", f->channel, "Reminder channel: email, webhook (with --webhook-url) or none");
      cmd->add_option("--digest", f->digest, "Weekly digest by email: weekday and local time (\"MO 07:00\") or none");
      add_webhook_options(*cmd, f->webhook, f->key_file);
      add_change_options(*cmd, *o, false);
      cmd->callback([&context, o, f] {
        guarded(context, [&] {
          if (auto why = email_problem(f->email)) refuse("--email: " + *why);
          MemberSpec spec;
          spec.id = f->id;
          spec.name = f->name;
          spec.email = f->email;
          if (!f->timezone.empty()) spec.timezone = f->timezone;
          spec.reminders.offsets = read_offsets(f->remind);
          spec.reminders.channel = f->channel;
          if (!f->digest.empty()) spec.digest = read_digest(f->digest);
          if (f->webhook.given())
            spec.reminders.webhook =
                sealed_webhook_url(context, webhook_url_of(f->webhook), f->webhook.flag(), f->key_file, o->dry_run);
          const auto links = base_links(context);  // a bad base URL refuses before anything is written
          auto opened = open_for_change(context, true, o->dry_run);
          Store* store = opened.store;
          print_token(store->add_member(spec, context_of(*o, context)), links, false, *o);
        });
      });
    }
    {
      auto* cmd = member->add_subcommand("remove", "Remove a member (their token stops working)");
      auto o = std::make_shared<StoreVerbOptions>();
      auto id = std::make_shared<std::string>();
      cmd->add_option("ID", *id, "Member id")->required();
      add_change_options(*cmd, *o, true, false);
      cmd->callback([&context, o, id] {
        guarded(context, [&] {
          auto store = open_store(context, false);
          store->remove_member(*id, context_of(*o, context));
          std::cout << outcome(*o, true, "removed member " + *id, "would remove member " + *id, "");
        });
      });
    }
    {
      auto* cmd = member->add_subcommand("rotate-token", "Issue a new private feed link; the old one stops working");
      auto o = std::make_shared<StoreVerbOptions>();
      auto id = std::make_shared<std::string>();
      cmd->add_option("ID", *id, "Member id")->required();
      add_change_options(*cmd, *o, false);
      cmd->callback([&context, o, id] {
        guarded(context, [&] {
          const auto links = base_links(context);
          auto store = open_store(context, false);
          print_token(store->rotate_token(*id, context_of(*o, context)), links, true, *o);
        });
      });
    }
    {
      auto* cmd = member->add_subcommand("set", "Change a member's name, email, time zone, reminders or delivery");
      auto o = std::make_shared<StoreVerbOptions>();
      auto f = std::make_shared<Fields>();
      auto delivery_text = std::make_shared<std::string>();
      cmd->add_option("ID", f->id, "Member id")->required();
      auto* name = cmd->add_option("--name", f->name, "Display name");
      auto* email = cmd->add_option("--email", f->email, "Email address");
      auto* tz = cmd->add_option("--timezone", f->timezone, "Display time zone (\"\" clears)");
      auto* remind = cmd->add_option("--remind", f->remind, "Reminder offsets (repeat; \"none\" clears)");
      auto* channel = cmd->add_option("--channel", f->channel, "Reminder channel: email, webhook (with --webhook-url) or none");
      auto* digest = cmd->add_option("--digest", f->digest, "Weekly digest: weekday and local time (\"MO 07:00\") or none");
      add_webhook_options(*cmd, f->webhook, f->key_file);
      auto* delivery = cmd->add_option("--delivery", *delivery_text,
                                       "How sessions reach their calendar: feed (their private feed) or invite "
                                       "(invitations, convene sync)")
                           ->check(CLI::IsMember({"feed", "invite"}));
      add_change_options(*cmd, *o, false);
      cmd->callback([&context, o, f, name, email, tz, remind, channel, digest, delivery, delivery_text] {
        guarded(context, [&] {
          if (auto why = email->count() ? email_problem(f->email) : std::nullopt) refuse("--email: " + *why);
          MemberUpdate u;
          if (name->count()) u.name = f->name;
          if (email->count()) u.email = f->email;
          if (tz->count()) u.timezone = f->timezone.empty() ? std::optional<std::string>() : f->timezone;
          if (remind->count()) u.reminder_offsets = read_offsets(f->remind);
          if (channel->count()) u.reminder_channel = f->channel;
          if (digest->count()) u.digest = read_digest(f->digest);
          if (f->webhook.given())
            u.reminder_webhook =
                sealed_webhook_url(context, webhook_url_of(f->webhook), f->webhook.flag(), f->key_file, o->dry_run);
          if (delivery->count()) u.delivery = parse_delivery(*delivery_text);
          auto store = open_store(context, false);
          const Member m = store->update_member(f->id, u, context_of(*o, context));
          // Rehearsed: the member as the change would leave them (the store is as it was).
          auto view = member_view(*store, m);
          if (o->format == "json") {
            std::cout << views::member_json(view).dump(2) + "\n";
          } else {
            std::cout << (o->dry_run ? "dry run: nothing was written; " + m.id + " would be:\n" : "") << views::member_text(view);
          }
        });
      });
    }
    {
      auto* cmd = member->add_subcommand("list", "List the members");
      auto format = std::make_shared<std::string>();
      add_format_option(*cmd, *format, {"text", "json"});
      cmd->callback([&context, format] {
        guarded(context, [&] {
          auto store = open_store(context, false);
          std::vector<views::MemberView> list;
          for (const auto& m : store->members()) list.push_back(member_view(*store, m));
          std::cout << (*format == "json" ? views::members_json(list).dump(2) + "\n" : views::members_text(list));
        });
      });
    }
    {
      auto* cmd = member->add_subcommand("show", "Show a member, their subscriptions and series");
      auto id = std::make_shared<std::string>();
      auto format = std::make_shared<std::string>();
      cmd->add_option("ID", *id, "Member id")->required();
      add_format_option(*cmd, *format, {"text", "json"});
      cmd->callback([&context, id, format] {
        guarded(context, [&] {
          auto store = open_store(context, false);
          auto m = store->member(*id);
          if (!m) refuse("no member \"" + *id + "\" in " + store->path());
          const auto view = member_view(*store, *m);
          std::cout << (*format == "json" ? views::member_json(view).dump(2) + "\n" : views::member_text(view));
        });
      });
    }
  }
  // --- subscribe / unsubscribe -------------------------------------------------------------------
  for (const char* name : {"subscribe", "unsubscribe"}) {
    const bool add = std::string(name) == "subscribe";
    auto* cmd = app.add_subcommand(name, add ? "Subscribe a member to a series or a community"
                                             : "Unsubscribe a member from a series or a community");
    auto o = std::make_shared<StoreVerbOptions>();
    auto id = std::make_shared<std::string>();
    auto target = std::make_shared<std::string>();
    cmd->add_option("MEMBER", *id, "Member id")->required();
    cmd->add_option("TARGET", *target, "Series or community id (series:ID / community:ID if both exist)")->required();
    add_change_options(*cmd, *o, false, false);
    cmd->callback([&context, o, id, target, add] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const Subscription s = read_target(*target, *store);
        const char* kind = s.kind == Subscription::Kind::series ? "series" : "community";
        const std::string what = std::string(kind) + " " + s.target;
        if (add) {
          const bool changed = store->subscribe(*id, s, context_of(*o, context));
          std::cout << outcome(*o, changed, *id + " subscribed to " + what, *id + " would be subscribed to " + what,
                               *id + " already subscribes to " + what);
        } else {
          const bool changed = store->unsubscribe(*id, s, context_of(*o, context));
          std::cout << outcome(*o, changed, *id + " unsubscribed from " + what,
                               *id + " would be unsubscribed from " + what, *id + " does not subscribe to " + what);
        }
      });
    });
  }
});

}  // namespace convene::cli
