// convene check | preview | expand | agenda: the engine's verbs. What they print comes
// from convene/views.h.
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "convene/agenda.h"
#include "convene/definitions.h"
#include "convene/schedule.h"
#include "convene/store.h"
#include "convene/views.h"
#include "definitions_source.h"

namespace convene::cli {
namespace {

// `preview` with no --to shows a year: from --from to the day before its anniversary.
constexpr date::years kPreviewDefaultSpan{1};

int print_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  int errors = 0;
  for (const auto& d : diagnostics) {
    report(d);
    if (d.severity == Diagnostic::Severity::error) ++errors;
  }
  return errors;
}

// True when the definitions loaded; else prints why, sets the exit code, and is false.
bool loaded_or_fail(Context& context, const LoadedDefinitions& loaded) {
  if (loaded.ok()) return true;
  print_diagnostics(loaded.diagnostics);
  context.exit_code = kExitRefused;
  return false;
}

struct WindowOptions {
  std::string from, to;
};

std::optional<LocalDay> read_date(const std::string& text, const char* option) {
  if (auto why = date_problem(text)) {  // malformed, nonexistent, or outside 1900..2200
    fail(std::string(option) + " " + *why);  // --from "2027-13-01" is not a date: ...
    return std::nullopt;
  }
  return parse_date(text);
}

// Reads --from/--to: --from defaults to `today`; --to to `default_to(from)`.
std::optional<Window> read_window(const WindowOptions& options, const date::time_zone* zone,
                                  const std::function<LocalDay(LocalDay)>& default_to) {
  Window window;
  if (options.from.empty()) {
    auto t = today(zone);
    if (!t) return std::nullopt;
    window.from = *t;
  } else if (auto d = read_date(options.from, "--from")) {
    window.from = *d;
  } else {
    return std::nullopt;
  }
  if (options.to.empty()) {
    window.to = default_to(window.from);
  } else if (auto d = read_date(options.to, "--to")) {
    window.to = *d;
  } else {
    return std::nullopt;
  }
  if (window.to < window.from) {
    fail("--to " + format_date(window.to) + " is before --from " + format_date(window.from));
    return std::nullopt;
  }
  return window;
}

LocalDay a_year_on(LocalDay from) {
  auto next = date::year_month_day{from} + kPreviewDefaultSpan;
  if (!next.ok()) next = next.year() / next.month() / date::last;
  return LocalDay{next} - date::days{1};
}

void add_window_options(CLI::App& cmd, WindowOptions& w, const std::string& to_default) {
  cmd.add_option("--from", w.from, "First day (YYYY-MM-DD), default today");
  cmd.add_option("--to", w.to, "Last day (YYYY-MM-DD), inclusive; default " + to_default);
}

// The common body of preview and expand: read the window and the definitions, expand,
// and print what `render` makes of it; on any error print one message and set the exit code.
using Render = std::function<std::string(const Definitions&, const std::vector<Occurrence>&, Window)>;
void run_expansion(Context& context, const SourceOptions& source, const std::optional<Window>& window,
                   const std::string& series, const Render& render) {
  if (!window) {
    context.exit_code = kExitRefused;
    return;
  }
  auto loaded = load_source(source, context);
  if (!loaded_or_fail(context, loaded)) return;
  ExpandOptions options;
  if (!series.empty()) options.series = series;
  try {
    const auto occurrences = expand(*loaded.definitions, *window, options);
    std::cout << render(*loaded.definitions, occurrences, *window);
  } catch (const Error& e) {
    context.exit_code = fail(e.what());
  }
}

std::string json_text(const views::Json& j) { return j.dump(2) + "\n"; }

void add_check(CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("check", "Validate a definitions file (or the store)");
  auto source = std::make_shared<SourceOptions>();
  auto format = std::make_shared<std::string>();
  add_source_options(*cmd, *source);
  add_format_option(*cmd, *format, {"text", "json"});
  cmd->callback([&context, source, format] {
    auto loaded = load_source(*source, context);
    if (!loaded_or_fail(context, loaded)) return;
    const Definitions& defs = *loaded.definitions;
    auto findings = loaded.diagnostics;
    for (auto& d : validate_schedule(defs)) findings.push_back(std::move(d));
    if (print_diagnostics(findings) > 0) {
      context.exit_code = kExitRefused;
      return;
    }
    std::cout << (*format == "json" ? json_text(views::check_json(defs, findings)) : views::check_text(defs, findings.size()));
  });
}

void add_preview(CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("preview", "Show each series' season, with every holiday shift explained");
  auto source = std::make_shared<SourceOptions>();
  auto window = std::make_shared<WindowOptions>();
  auto series = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>();
  add_source_options(*cmd, *source);
  add_window_options(*cmd, *window, "a year after --from");
  cmd->add_option("--series", *series, "Only this series");
  add_format_option(*cmd, *format, {"text", "json"});
  cmd->callback([&context, source, window, series, format] {
    const std::optional<std::string> only = series->empty() ? std::nullopt : std::optional(*series);
    run_expansion(context, *source, read_window(*window, nullptr, a_year_on), *series,
                  [&](const Definitions& defs, const std::vector<Occurrence>& occurrences, Window w) {
                    return *format == "json" ? json_text(views::preview_json(defs, occurrences, w, only))
                                             : views::preview_text(defs, occurrences, w, only);
                  });
  });
}

void add_expand(CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("expand", "List every occurrence in a window, as JSON or CSV");
  auto source = std::make_shared<SourceOptions>();
  auto window = std::make_shared<WindowOptions>();
  auto format = std::make_shared<std::string>();
  auto series = std::make_shared<std::string>();
  add_source_options(*cmd, *source);
  cmd->add_option("--from", window->from, "First day (YYYY-MM-DD)")->required();
  cmd->add_option("--to", window->to, "Last day (YYYY-MM-DD), inclusive")->required();
  add_format_option(*cmd, *format, {"json", "csv"});
  cmd->add_option("--series", *series, "Only this series");
  cmd->callback([&context, source, window, format, series] {
    run_expansion(context, *source, read_window(*window, nullptr, a_year_on), *series,
                  [&](const Definitions&, const std::vector<Occurrence>& occurrences, Window) {
                    return *format == "csv" ? views::occurrences_csv(occurrences)
                                            : json_text(views::occurrences_json(occurrences));
                  });
  });
}

// The viewer's zone: the member's display zone with --member, else --timezone, else the
// local zone; and the series the member follows.
struct Viewer {
  const date::time_zone* zone = nullptr;
  std::optional<std::vector<std::string>> series;
};

std::optional<Viewer> read_viewer(Context& context, const std::string& member_id, const std::string& timezone) {
  Viewer viewer;
  if (!member_id.empty()) {
    StoreOptions options;
    options.path = context.store_path();
    options.create = false;
    auto store = Store::open(options);
    auto member = store->member(member_id);
    if (!member) {
      fail("--member: no member \"" + member_id + "\" in " + store->path());
      return std::nullopt;
    }
    viewer.series = store->subscribed_series(member_id);
    viewer.zone = member->zone;
  }
  if (!viewer.zone && !timezone.empty()) {
    viewer.zone = find_zone(timezone);
    if (!viewer.zone) {
      fail("--timezone \"" + timezone.substr(0, 80) + "\" is not a time zone of the tz database (America/New_York)");
      return std::nullopt;
    }
  }
  if (!viewer.zone) viewer.zone = local_zone();
  return viewer;
}

void add_agenda(CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand(
      "agenda", "Every session of every series in time order, with status and why, in your time zone");
  auto source = std::make_shared<SourceOptions>();
  auto window = std::make_shared<WindowOptions>();
  struct Fields {
    std::string community, member, timezone, format;
  };
  auto f = std::make_shared<Fields>();
  add_source_options(*cmd, *source);
  add_window_options(*cmd, *window, std::to_string(kAgendaDefaultDays) + " days from --from");
  cmd->add_option("--community", f->community, "Only this community's series");
  cmd->add_option("--member", f->member, "Only the series this member follows, in their time zone (store only)");
  cmd->add_option("--timezone", f->timezone,
                  "Show times in this zone (IANA); default the member's, else the local zone ($TZ, /etc/localtime)");
  add_format_option(*cmd, f->format, {"text", "json"});
  cmd->callback([&context, source, window, f] {
    try {
      if (!f->member.empty() && !source->file.empty()) {
        context.exit_code = fail("--member reads the store's members: give --db, not a definitions FILE");
        return;
      }
      auto viewer = read_viewer(context, f->member, f->timezone);
      auto w = viewer ? read_window(*window, viewer->zone,
                                    [](LocalDay from) { return from + date::days{kAgendaDefaultDays - 1}; })
                      : std::nullopt;
      if (!w) {
        context.exit_code = kExitRefused;
        return;
      }
      auto loaded = load_source(*source, context);
      if (!loaded_or_fail(context, loaded)) return;
      const Definitions& defs = *loaded.definitions;
      if (!f->community.empty() && std::none_of(defs.communities.begin(), defs.communities.end(),
                                                [&](const CommunityDef& c) { return c.id == f->community; })) {
        context.exit_code = fail("--community: no community \"" + f->community + "\" in " + defs.source);
        return;
      }
      AgendaQuery query{w->from, w->to, viewer->zone, std::nullopt, viewer->series};
      if (!f->community.empty()) query.community = f->community;
      const Agenda a = agenda(defs, query);
      std::cout << (f->format == "json" ? json_text(views::agenda_json(a)) : views::agenda_text(a));
    } catch (const std::exception& e) {
      context.exit_code = fail(e.what());
    }
  });
}

}  // namespace

static Registrar engine_commands(10, [](CLI::App& app, Context& context) {
  add_check(app, context);
  add_preview(app, context);
  add_expand(app, context);
  add_agenda(app, context);
});

}  // namespace convene::cli
