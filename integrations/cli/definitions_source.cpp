#include "definitions_source.h"

namespace convene::cli {

void add_source_options(CLI::App& command, SourceOptions& options) {
  command.add_option("FILE", options.file, "Definitions file (JSON)")->required();
}

LoadedDefinitions load_source(const SourceOptions& options) {
  return load_definitions(options.file);
}

}  // namespace convene::cli
