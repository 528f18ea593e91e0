#include "definitions_source.h"

#include "convene/store.h"

namespace convene::cli {

void add_source_options(CLI::App& command, SourceOptions& options) {
  command.add_option("FILE", options.file, "Definitions file (JSON); default: the store (--db)");
  add_input_limit_option(command, options.limits);
}

void add_input_limit_option(CLI::App& command, InputLimits& limits) {
  command
      .add_option("--max-input-size", limits.max_file_size,
                  "Largest definitions or ICS file read, in bytes or with a unit (32M, 1G); default 16M")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
}

LoadedDefinitions load_source(const SourceOptions& options, Context& context) {
  if (!options.file.empty()) return load_definitions(options.file, options.limits);
  const std::string path = context.store_path();
  try {
    StoreOptions store_options;
    store_options.path = path;
    store_options.create = false;
    auto store = Store::open(store_options);
    if (store->empty()) {
      LoadedDefinitions none;
      none.diagnostics.push_back({Diagnostic::Severity::error, "store " + path,
                                  "the store holds no definitions yet: run `convene import FILE` first"});
      return none;
    }
    return store->load();
  } catch (const StoreError& e) {
    LoadedDefinitions failed;
    std::string message = e.what();
    if (e.kind() == StoreError::Kind::not_found)
      message += ": run `convene import FILE` first, name a definitions FILE, or choose a store with --db PATH";
    failed.diagnostics.push_back({Diagnostic::Severity::error, "", message});
    return failed;
  }
}

}  // namespace convene::cli
