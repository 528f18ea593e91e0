// The convene CLI: a thin main over convene::scheduler and convene::integrations.
//
// Each commands_*.cpp file registers its verbs with a static Registrar, so adding a
// group of verbs never touches main.cpp:
//
//   static convene::cli::Registrar reg(10, [](CLI::App& app, convene::cli::Context& ctx) {
//     auto* cmd = app.add_subcommand("check", "Validate a definitions file");
//     ...
//     cmd->callback([&ctx, ...] { ctx.exit_code = run_check(...); });
//   });
//
// Errors: a verb prints one clear message to standard error ("convene: error: ...")
// and sets a non-zero exit code; it never prints a stack trace. Exceptions derived
// from std::exception that escape a verb are caught by main and printed the same way.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

namespace convene::cli {

struct Context {
  int exit_code = 0;
};

using AddCommands = std::function<void(CLI::App&, Context&)>;

// Registers a group of verbs; groups are added in ascending `order`.
struct Registrar {
  Registrar(int order, AddCommands add);
};

// Prints "convene: error: <message>" on standard error and returns `code`.
int fail(const std::string& message, int code = 1);
// Prints "convene: warning: <message>" on standard error.
void warn(const std::string& message);

}  // namespace convene::cli
