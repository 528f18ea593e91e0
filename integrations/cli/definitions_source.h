// Where the engine's verbs (check, preview, expand) read definitions from: a file named
// on the command line, or, when none is named, the store (--db PATH, else the
// CONVENE_DB environment variable, else ./convene.db). Both give the same Definitions,
// so the verbs print the same output for either.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "convene/definitions.h"

namespace convene::cli {

struct SourceOptions {
  std::string file;  // a definitions file; empty: the store
  std::string db;    // --db PATH
};

// Adds the optional FILE positional and --db to a verb.
void add_source_options(CLI::App& command, SourceOptions& options);
// Adds --db to a verb that works on the store only.
void add_db_option(CLI::App& command, std::string& db);

// The store's path: --db if given, else $CONVENE_DB if set and not empty, else ./convene.db.
std::string store_path(const std::string& db_option);

// Loads the definitions the options name. On failure, the diagnostics say why (for the
// store: no store there, a locked, unreadable or damaged file).
LoadedDefinitions load_source(const SourceOptions& options);

}  // namespace convene::cli
