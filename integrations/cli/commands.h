// The convene CLI: argument parsing and printing over convene::scheduler and
// convene::integrations (every verb calls library code; what it prints comes from
// convene/views.h).
//
// Each commands_*.cpp file registers its verbs with a static Registrar, so adding a
// group of verbs never touches app.cpp:
//
//   static convene::cli::Registrar reg(10, [](CLI::App& app, convene::cli::Context& ctx) {
//     auto* cmd = app.add_subcommand("check", "Validate a definitions file");
//     ...
//     cmd->callback([&ctx, ...] { ctx.exit_code = run_check(...); });
//   });
//
// Conventions every verb keeps (tests/cli_conventions_test.cpp checks them):
//   - Exit status: kExitOk (0) success; kExitRefused (1) refused or bad input (a value
//     that does not parse, a store that says no, a file with errors); kExitUsage (2) a
//     usage error (an unknown verb or option, a missing argument, a value outside the
//     option's choices: every CLI11 parse error). --help, --version and `convene help
//     VERB` exit 0.
//   - Every error is one message on standard error starting "convene: error: " (fail());
//     warnings start "convene: warning: " (warn()); nothing reaches standard output when
//     a verb fails. Exceptions derived from std::exception that escape a verb are caught
//     and printed the same way; never a stack trace.
//   - The global options (GlobalOptions) are defined once on the top-level app and are
//     accepted before or after the verb (CLI11's fallthrough): verbs must not define
//     options with those names.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "convene/clock.h"
#include "convene/store.h"
#include "convene/definitions.h"
#include "convene/store.h"
#include "convene/time.h"
#include "settings.h"

namespace convene::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;  // refused or bad input
inline constexpr int kExitUsage = 2;    // usage error

// Options every verb accepts, before or after the verb.
struct GlobalOptions {
  std::string db;        // --db PATH (alias --store): the store
  std::string actor;     // --as NAME: who makes a change
  std::string config;    // --config FILE: the configuration file
  std::string base_url;  // --base-url URL: the public base URL of the feeds
};

struct Context {
  int exit_code = kExitOk;
  GlobalOptions global;

  // The settings (database path, listen address, public base URL, access log), each
  // resolved flag > environment > configuration file > default (settings.h). The file
  // is read on first use; a bad file throws SettingsError (a std::runtime_error).
  const Settings& settings();
  // The store's path: --db, else $CONVENE_DB, else the file's `db`, else ./convene.db.
  std::string store_path();
  // The public base URL (--base-url, $CONVENE_BASE_URL, the configuration's base_url),
  // without a trailing "/"; "" when none is set.
  std::string base_url();

 private:
  std::shared_ptr<const Settings> settings_;
};

using AddCommands = std::function<void(CLI::App&, Context&)>;

// Registers a group of verbs; groups are added in ascending `order`.
struct Registrar {
  Registrar(int order, AddCommands add);
};

// Parses the command line and runs the verb; returns the exit status. Both mains
// (`convene`, and `convene-testing` with the test hooks) call it.
int run(int argc, char** argv);

// Adds --format with these choices; the first is the default.
void add_format_option(CLI::App& command, std::string& format, const std::vector<std::string>& choices);
// Adds --dry-run, which every verb that changes something takes: it does every check and
// says what would change (ChangeContext::dry_run for the store), and writes nothing.
void add_dry_run_option(CLI::App& command, bool& dry_run);

// --- time, as the CLI sees it (environment.cpp) ---
// The CLI's clock: the system's, unless CONVENE_NOW=YYYY-MM-DDTHH:MM:SSZ pins it (tests,
// demos, the README's examples). A malformed CONVENE_NOW throws std::runtime_error when used.
const Clock& cli_clock();
// The local zone: $TZ when it names a zone of the tz database (":America/Chicago" too),
// else /etc/localtime, else UTC.
const date::time_zone* local_zone();
// Today in `zone` (nullptr: the local zone): CONVENE_TODAY=YYYY-MM-DD if set, else the
// date of cli_clock()'s now there. On a malformed CONVENE_TODAY prints why and returns nullopt.
std::optional<LocalDay> today(const date::time_zone* zone);

// Prints "convene: error: <message>" on standard error and returns `code`.
int fail(const std::string& message, int code = kExitRefused);

// --- what the store's verbs share (commands_store.cpp) ---
// Who makes a change: the global --as, else the OS user.
std::string actor(const Context& context);
// The store the global --db names, on the CLI's clock; `create`: make it when missing
// (else "run `convene import FILE` first").
std::unique_ptr<Store> open_store(Context& context, bool create);
// Runs a verb's body, turning any exception (StoreError, SettingsError, ...) into one
// message and kExitRefused.
template <class Body>
void guarded(Context& context, Body body) {
  try {
    body();
  } catch (const std::exception& e) {
    context.exit_code = fail(e.what());
  }
}
// An occurrence of `series` named by its original start (YYYY-MM-DDTHH:MM) or, when the
// series has one session that day, by its date; StoreError::invalid when it is neither.
LocalTime read_occurrence(Store& store, const std::string& series, const std::string& text);
// Prints "convene: warning: <message>" on standard error.
void warn(const std::string& message);
// Prints a loader's diagnostic ("convene: error: FILE: /json/path: ..." or
// "convene: warning: ...") on standard error.
void report(const Diagnostic& diagnostic);

}  // namespace convene::cli
