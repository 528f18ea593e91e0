// convene check | preview | expand: the engine's verbs.
#include <chrono>
#include <functional>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "convene/definitions.h"
#include "convene/schedule.h"
#include "definitions_source.h"

namespace convene::cli {
namespace {

// Today's date, for default windows. CONVENE_TODAY=YYYY-MM-DD pins it (tests, demos).
std::optional<LocalDay> today() {
  if (const char* pinned = std::getenv("CONVENE_TODAY")) {
    auto day = parse_date(pinned);
    if (!day) {
      fail(std::string("CONVENE_TODAY=\"") + pinned + "\" is not a date (YYYY-MM-DD)");
      return std::nullopt;
    }
    return day;
  }
  return date::floor<date::days>(date::current_zone()->to_local(std::chrono::system_clock::now()));
}

struct WindowOptions {
  std::string from, to;
};

// Reads --from/--to; the defaults are today and a year later (the day before).
std::optional<Window> read_window(const WindowOptions& options) {
  auto read = [](const std::string& text, const char* option) -> std::optional<LocalDay> {
    auto day = parse_date(text);
    if (!day) fail(std::string(option) + " \"" + text + "\" is not a date (YYYY-MM-DD) that exists");
    return day;
  };
  Window window;
  if (options.from.empty()) {
    auto t = today();
    if (!t) return std::nullopt;
    window.from = *t;
  } else if (auto d = read(options.from, "--from")) {
    window.from = *d;
  } else {
    return std::nullopt;
  }
  if (options.to.empty()) {
    const date::year_month_day from{window.from};
    auto next = from + date::years{1};
    if (!next.ok()) next = next.year() / next.month() / date::last;
    window.to = LocalDay{next} - date::days{1};
  } else if (auto d = read(options.to, "--to")) {
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

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

nlohmann::ordered_json occurrence_json(const Occurrence& o) {
  const date::time_zone* zone = o.community->zone;
  nlohmann::ordered_json j;
  j["community"] = o.community->id;
  j["series"] = o.series->id;
  j["title"] = o.title();
  j["occurrence_id"] = o.occurrence_id();
  j["start"] = o.start ? nlohmann::ordered_json(format_rfc3339(*o.start, zone)) : nullptr;
  j["end"] = o.end ? nlohmann::ordered_json(format_rfc3339(*o.end, zone)) : nullptr;
  j["local_start"] =
      o.local_start ? nlohmann::ordered_json(format_local_minute(*o.local_start)) : nullptr;
  j["timezone"] = o.community->timezone;
  j["status"] = to_string(o.status);
  j["reason"] = o.reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.reason);
  if (o.holiday) {
    j["holiday"] = {{"name", o.holiday->name},
                    {"calendar", o.holiday->calendar},
                    {"date", format_date(o.holiday->day)}};
  } else {
    j["holiday"] = nullptr;
  }
  return j;
}

void print_csv(const std::vector<Occurrence>& occurrences, std::ostream& out) {
  out << "community,series,title,occurrence_id,start,end,local_start,timezone,status,reason,"
         "holiday,holiday_calendar\r\n";
  for (const auto& o : occurrences) {
    const date::time_zone* zone = o.community->zone;
    out << csv_field(o.community->id) << ',' << csv_field(o.series->id) << ','
        << csv_field(o.title()) << ',' << o.occurrence_id() << ','
        << (o.start ? format_rfc3339(*o.start, zone) : "") << ','
        << (o.end ? format_rfc3339(*o.end, zone) : "") << ','
        << (o.local_start ? format_local_minute(*o.local_start) : "") << ','
        << csv_field(o.community->timezone) << ',' << to_string(o.status) << ','
        << csv_field(o.reason) << ',' << csv_field(o.holiday ? o.holiday->name : "") << ','
        << csv_field(o.holiday ? o.holiday->calendar : "") << "\r\n";
  }
}

const char* kShortWeekday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

std::string hh_mm(LocalTime t) { return format_local_minute(t).substr(11, 5); }

// One season table per series: date, weekday, local time, status and why.
void print_preview(const Definitions& defs, const std::vector<Occurrence>& occurrences,
                   Window window, const std::optional<std::string>& only, std::ostream& out) {
  out << "Season " << format_date(window.from) << " to " << format_date(window.to) << "\n";
  for (const auto& community : defs.communities) {
    for (const auto& series : community.series) {
      if (only && series.id != *only) continue;
      out << "\n" << series.title << " [" << series.id << "] · " << community.name << " · "
          << community.timezone << "\n";
      out << "  " << hh_mm(series.start) << "–" << hh_mm(series.start + series.duration) << " ("
          << format_duration(series.duration) << ")";
      if (series.rrule_text) out << " · " << *series.rrule_text;
      out << " · on holiday: " << to_string(series.on_holiday) << "\n";
      std::size_t count = 0, live = 0;
      std::ostringstream rows;
      for (const auto& o : occurrences) {
        if (o.series != &series) continue;
        ++count;
        if (o.live()) ++live;
        const LocalTime shown = o.local_start ? *o.local_start : o.original;
        const LocalDay day = date::floor<date::days>(shown);
        rows << "  " << format_date(day) << "  " << kShortWeekday[date::weekday{day}.c_encoding()]
             << "  " << hh_mm(shown) << "  " << std::left << std::setw(9) << to_string(o.status);
        std::string why = o.reason;
        if (o.status == OccurrenceStatus::shifted || o.status == OccurrenceStatus::moved) {
          why += (why.empty() ? "" : " ") + std::string("(from ") +
                 kShortWeekday[date::weekday{date::floor<date::days>(o.original)}.c_encoding()] +
                 " " + format_date(date::floor<date::days>(o.original)) + " " + hh_mm(o.original) +
                 ")";
        }
        if (o.override_def && o.override_def->title && o.live()) {
          why += (why.empty() ? "" : "; ") + std::string("titled \"") + o.title() + "\"";
        }
        if (!why.empty()) rows << "  " << why;
        rows << "\n";
      }
      if (count == 0) {
        out << "  (no sessions in this window)\n";
        continue;
      }
      out << "  Date        Day  Time   Status     Why\n" << rows.str();
      out << "  " << live << " session" << (live == 1 ? "" : "s") << " of " << count << "\n";
    }
  }
}

int print_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  int errors = 0;
  for (const auto& d : diagnostics) {
    report(d);
    if (d.severity == Diagnostic::Severity::error) ++errors;
  }
  return errors;
}

// The common body of preview and expand: read the window and the definitions, expand,
// and let `print` write the result; on any error print one message and set the exit code.
using PrintExpansion = std::function<void(const Definitions&, const std::vector<Occurrence>&,
                                          Window, const ExpandOptions&, std::ostream&)>;
void run_expansion(Context& context, const SourceOptions& source, const WindowOptions& window,
                   const std::string& series, const PrintExpansion& print) {
  auto w = read_window(window);
  if (!w) {
    context.exit_code = 1;
    return;
  }
  auto loaded = load_source(source, context);
  if (!loaded.ok()) {
    print_diagnostics(loaded.diagnostics);
    context.exit_code = 1;
    return;
  }
  ExpandOptions options;
  if (!series.empty()) options.series = series;
  try {
    auto occurrences = expand(*loaded.definitions, *w, options);
    std::ostringstream out;  // nothing reaches standard output unless all went well
    print(*loaded.definitions, occurrences, *w, options, out);
    std::cout << out.str();
  } catch (const Error& e) {
    context.exit_code = fail(e.what());
  }
}

}  // namespace

static Registrar engine_commands(10, [](CLI::App& app, Context& context) {
  // --- check -----------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("check", "Validate a definitions file (or the store)");
    auto source = std::make_shared<SourceOptions>();
    add_source_options(*cmd, *source);
    cmd->callback([&context, source] {
      auto loaded = load_source(*source, context);
      if (!loaded.ok()) {
        print_diagnostics(loaded.diagnostics);
        context.exit_code = 1;
        return;
      }
      const Definitions& defs = *loaded.definitions;
      auto findings = loaded.diagnostics;
      for (auto& d : validate_schedule(defs)) findings.push_back(std::move(d));
      const int errors = print_diagnostics(findings);
      if (errors > 0) {
        context.exit_code = 1;
        return;
      }
      std::size_t series = 0;
      for (const auto& c : defs.communities) series += c.series.size();
      const std::size_t warnings = findings.size();
      std::cout << defs.source << ": ok: " << defs.calendars.size() << " calendar"
                << (defs.calendars.size() == 1 ? "" : "s") << ", " << defs.communities.size()
                << " communit" << (defs.communities.size() == 1 ? "y" : "ies") << ", " << series
                << " series, " << defs.overrides.size() << " override"
                << (defs.overrides.size() == 1 ? "" : "s");
      if (warnings) std::cout << " (" << warnings << " warning" << (warnings == 1 ? "" : "s") << ")";
      std::cout << "\n";
    });
  }
  // --- preview ---------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("preview", "Show each series' season, with every holiday shift explained");
    auto source = std::make_shared<SourceOptions>();
    auto window = std::make_shared<WindowOptions>();
    auto series = std::make_shared<std::string>();
    add_source_options(*cmd, *source);
    cmd->add_option("--from", window->from, "First day (YYYY-MM-DD), default today");
    cmd->add_option("--to", window->to, "Last day (YYYY-MM-DD), default a year after --from");
    cmd->add_option("--series", *series, "Only this series");
    cmd->callback([&context, source, window, series] {
      run_expansion(context, *source, *window, *series,
                    [](const Definitions& defs, const std::vector<Occurrence>& occurrences,
                       Window w, const ExpandOptions& options, std::ostream& out) {
                      print_preview(defs, occurrences, w, options.series, out);
                    });
    });
  }
  // --- expand ----------------------------------------------------------------
  {
    auto* cmd = app.add_subcommand("expand", "List every occurrence in a window, as JSON or CSV");
    auto source = std::make_shared<SourceOptions>();
    auto window = std::make_shared<WindowOptions>();
    auto format = std::make_shared<std::string>("json");
    auto series = std::make_shared<std::string>();
    add_source_options(*cmd, *source);
    cmd->add_option("--from", window->from, "First day (YYYY-MM-DD)")->required();
    cmd->add_option("--to", window->to, "Last day (YYYY-MM-DD), inclusive")->required();
    cmd->add_option("--format", *format, "json or csv")->check(CLI::IsMember({"json", "csv"}));
    cmd->add_option("--series", *series, "Only this series");
    cmd->callback([&context, source, window, format, series] {
      run_expansion(context, *source, *window, *series,
                    [format](const Definitions&, const std::vector<Occurrence>& occurrences,
                             Window, const ExpandOptions&, std::ostream& out) {
                      if (*format == "csv") {
                        print_csv(occurrences, out);
                        return;
                      }
                      nlohmann::ordered_json array = nlohmann::ordered_json::array();
                      for (const auto& o : occurrences) array.push_back(occurrence_json(o));
                      out << array.dump(2) << "\n";
                    });
    });
  }
});

}  // namespace convene::cli
