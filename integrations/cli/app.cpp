// The top level of the CLI: the global options, `convene help VERB`, and the mapping of
// every parse error to one "convene: error: ..." line and exit status 2 (commands.h).
#include <algorithm>
#include <exception>
#include <iostream>
#include <vector>

#include "commands.h"
#include "internal/definitions_text.h"

namespace convene::cli {
namespace {

std::vector<std::pair<int, AddCommands>>& registry() {
  static std::vector<std::pair<int, AddCommands>> groups;
  return groups;
}

constexpr const char* kGlobalGroup = "Global options (before or after the verb)";

constexpr const char* kExitStatusText =
    "Exit status: 0 success; 1 refused or bad input (nothing was changed); 2 usage error\n"
    "(an unknown verb or option, a missing or invalid argument).";

// "convene member add": the verb's full name, for messages and usage lines.
std::string full_name(const CLI::App& app) {
  std::string name = app.get_name();
  for (const CLI::App* p = app.get_parent(); p; p = p->get_parent()) name = p->get_name() + " " + name;
  return name;
}

std::vector<std::string> verb_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// The long option names a verb accepts: its own, its parents' (the global ones), --help.
std::vector<std::string> option_names(const CLI::App& verb) {
  std::vector<std::string> names;
  for (const CLI::App* app = &verb; app; app = app->get_parent()) {
    for (const CLI::Option* opt : app->get_options()) {
      for (const auto& lname : opt->get_lnames()) names.push_back("--" + lname);
    }
  }
  return names;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  auto near = definitions_internal::nearest(word, candidates);
  return near ? "; did you mean \"" + *near + "\"?" : "";
}

// " (run `convene help member`)"
std::string help_hint(const CLI::App& verb) {
  if (!verb.get_parent()) return " (run `convene help`)";
  return " (run `convene help " + full_name(verb).substr(full_name(verb).find(' ') + 1) + "`)";
}

std::string unknown_verb(const CLI::App& parent, const std::string& word) {
  const std::string of = parent.get_parent() ? " of `" + full_name(parent) + "`" : "";
  return "unknown verb \"" + word + "\"" + of + suggestion(word, verb_names(parent)) + help_hint(parent);
}

// The deepest verb given on the command line (the app itself when none).
CLI::App* chosen_verb(CLI::App& app) {
  CLI::App* verb = &app;
  while (!verb->get_subcommands().empty()) verb = verb->get_subcommands().front();
  return verb;
}

// One line for a parse error: an unknown option or verb names the nearest known one.
std::string usage_message(CLI::App& app, const CLI::ParseError& error) {
  CLI::App* verb = chosen_verb(app);
  for (const auto& arg : app.remaining(true)) {
    if (arg.size() > 1 && arg[0] == '-' && arg != "--") {
      const std::string name = arg.substr(0, arg.find('='));
      const std::string of = verb->get_parent() ? " for `" + full_name(*verb) + "`" : "";
      return "unknown option \"" + name + "\"" + of + suggestion(name, option_names(*verb)) + help_hint(*verb);
    }
  }
  if (!verb->get_subcommands([](const CLI::App*) { return true; }).empty()) {
    for (const auto& arg : app.remaining(true)) return unknown_verb(*verb, arg);
    if (verb->get_parent()) {
      std::string list;
      for (const auto& n : verb_names(*verb)) list += (list.empty() ? "" : ", ") + n;
      return "`" + full_name(*verb) + "` needs a verb: " + list + help_hint(*verb);
    }
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error)) {
    std::string list;
    for (const auto& arg : app.remaining(true)) list += (list.empty() ? "\"" : ", \"") + arg + "\"";
    return "unexpected argument" + std::string(app.remaining_size(true) == 1 ? " " : "s ") + list +
           (verb->get_parent() ? " for `" + full_name(*verb) + "`" : "") + help_hint(*verb);
  }
  return error.what() + help_hint(*verb);
}

// `convene help [VERB...]`: the help of convene or of one verb, on standard output.
void add_help_verb(CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("help", "Show the help of convene or of one verb (convene help member add)");
  auto words = std::make_shared<std::vector<std::string>>();
  cmd->add_option("VERB", *words, "The verb (and its sub-verb)");
  cmd->callback([&app, &context, words] {
    CLI::App* target = &app;
    for (const auto& word : *words) {
      CLI::App* sub = nullptr;
      for (CLI::App* s : target->get_subcommands([](const CLI::App*) { return true; }))
        if (s->get_name() == word) sub = s;
      if (!sub) {
        context.exit_code = fail(unknown_verb(*target, word), kExitUsage);
        return;
      }
      target = sub;
    }
    std::cout << target->get_formatter()->make_help(target, full_name(*target), CLI::AppFormatMode::Normal);
  });
}

void add_global_options(CLI::App& app, Context& context) {
  GlobalOptions& g = context.global;
  app.add_option("--db,--store", g.db, "The store (SQLite file); default $CONVENE_DB, else the configuration's db, else ./convene.db")
      ->type_name("PATH")
      ->group(kGlobalGroup);
  app.add_option("--as", g.actor, "Who makes a change, for the history; default: the OS user")
      ->type_name("NAME")
      ->group(kGlobalGroup);
  app.add_option("--config", g.config,
                 "Configuration file; default $CONVENE_CONFIG, else " + std::string(kDefaultConfigPath) +
                     " when it exists")
      ->type_name("FILE")
      ->group(kGlobalGroup);
  app.add_option("--base-url", g.base_url,
                 "Public base URL of the feeds, for member links and the subscribe page (https://cop.example.org); "
                 "default $CONVENE_BASE_URL, else the configuration's base_url")
      ->type_name("URL")
      ->group(kGlobalGroup);
}

// Every verb's help ends with the global options and the exit status; verbs are listed
// as "Verbs", not CLI11's "Subcommands".
void set_footers(CLI::App& app) {
  const std::string verbs_footer = std::string(kGlobalGroup) +
                                   ": --db PATH, --as NAME, --config FILE, --base-url URL (see `convene --help`).\n" +
                                   kExitStatusText;
  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    sub->footer(verbs_footer);
    sub->group("Verbs");
    set_footers(*sub);
  }
}

}  // namespace

Registrar::Registrar(int order, AddCommands add) { registry().emplace_back(order, std::move(add)); }

int fail(const std::string& message, int code) {
  std::cerr << "convene: error: " << message << '\n';
  return code;
}

void warn(const std::string& message) { std::cerr << "convene: warning: " << message << '\n'; }

void report(const Diagnostic& diagnostic) { std::cerr << "convene: " << diagnostic.to_string() << '\n'; }

void add_format_option(CLI::App& command, std::string& format, const std::vector<std::string>& choices) {
  format = choices.front();
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  command.add_option("--format", format, "Output: " + list + " (default " + choices.front() + ")")
      ->check(CLI::IsMember(choices));
}

void add_dry_run_option(CLI::App& command, bool& dry_run) {
  command.add_flag("--dry-run", dry_run,
                   "Rehearse: check and say what would change (sessions, new revisions), write nothing");
}

const Settings& Context::settings() {
  if (!settings_) settings_ = std::make_shared<const Settings>(Settings::load(global.config));
  return *settings_;
}

std::string Context::store_path() { return settings().value(Setting::db, global.db); }

std::string Context::base_url() {
  std::string url = settings().value(Setting::base_url, global.base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

int run(int argc, char** argv) {
  CLI::App app{"convene: schedules for communities of practice, around holidays", "convene"};
  app.fallthrough();            // the global options are accepted after the verb too
  app.require_subcommand(0, 1);  // one verb (none: an error below, not CLI11's)
  app.set_version_flag("--version", "convene " CONVENE_VERSION);
  Context context;
  app.get_formatter()->label("SUBCOMMAND", "VERB");
  add_global_options(app, context);
  auto groups = registry();
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : groups) add(app, context);
  add_help_verb(app, context);
  set_footers(app);
  app.footer("Run `convene help VERB` for a verb's options.\n" + std::string(kExitStatusText));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // standard output, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(usage_message(app, e), kExitUsage);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (app.get_subcommands().empty()) {
    return fail("no verb given (run `convene help` for the list, e.g. `convene preview FILE`)", kExitUsage);
  }
  std::cout.flush();
  return context.exit_code;
}

}  // namespace convene::cli
