// Where the engine's verbs (check, preview, expand) read definitions from: a file named
// on the command line.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "convene/definitions.h"

namespace convene::cli {

struct SourceOptions {
  std::string file;  // a definitions file
};

// Adds the FILE positional to a verb.
void add_source_options(CLI::App& command, SourceOptions& options);

// Loads the definitions the options name. On failure, the diagnostics say why.
LoadedDefinitions load_source(const SourceOptions& options);

}  // namespace convene::cli
