// Where the engine's verbs (check, preview, expand, agenda) read definitions from: a
// file named on the command line, or, when none is named, the store (Context::store_path():
// --db PATH, else $CONVENE_DB, else the configuration's db, else ./convene.db). Both give
// the same Definitions, so the verbs print the same output for either.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "convene/definitions.h"

namespace convene::cli {

struct SourceOptions {
  std::string file;    // a definitions file; empty: the store
  InputLimits limits;  // --max-input-size
};

// Adds the optional FILE positional and --max-input-size to a verb.
void add_source_options(CLI::App& command, SourceOptions& options);
// Adds --max-input-size SIZE (bytes, or with a unit: 32M, 1G; default 16M) to a verb that
// reads definitions or ICS files (convene/limits.h).
void add_input_limit_option(CLI::App& command, InputLimits& limits);

// Loads the definitions the options name. On failure, the diagnostics say why (for the
// store: no store there, a locked, unreadable or damaged file).
LoadedDefinitions load_source(const SourceOptions& options, Context& context);

}  // namespace convene::cli
