#include <algorithm>
#include <exception>
#include <iostream>
#include <vector>

#include "commands.h"

namespace convene::cli {
namespace {

std::vector<std::pair<int, AddCommands>>& registry() {
  static std::vector<std::pair<int, AddCommands>> groups;
  return groups;
}

}  // namespace

Registrar::Registrar(int order, AddCommands add) { registry().emplace_back(order, std::move(add)); }

int fail(const std::string& message, int code) {
  std::cerr << "convene: error: " << message << '\n';
  return code;
}

void warn(const std::string& message) { std::cerr << "convene: warning: " << message << '\n'; }

}  // namespace convene::cli

int main(int argc, char** argv) {
  using namespace convene::cli;
  CLI::App app{"convene: schedules for communities of practice, around holidays", "convene"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "convene 0.1.0");
  Context context;
  auto groups = registry();
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : groups) add(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print to standard output and exit 0; usage errors exit 2.
    return app.exit(e);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  std::cout.flush();
  return context.exit_code;
}
