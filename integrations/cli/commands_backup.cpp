// convene backup | restore-backup: the whole store as one file, and back.
//
//   convene backup FILE                      a consistent copy of the store (--db), safe while serve runs
//   convene restore-backup FILE [--replace] [--dry-run]  the store (--db) becomes the backup
//
// `backup` is the backup (members, tokens, history, revisions: everything); `export`
// writes the definitions only, for editing and moving them.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "convene/store.h"

namespace convene::cli {

static Registrar backup_commands(25, [](CLI::App& app, Context& context) {
  {
    auto* cmd = app.add_subcommand(
        "backup", "Write a consistent copy of the whole store (members, tokens, history) to FILE; safe while serve runs");
    auto file = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "The backup file to write (replaced if it exists)")->required();
    cmd->callback([&context, file] {
      try {
        StoreOptions options;
        options.path = context.store_path();
        options.create = false;
        auto store = Store::open(options);
        store->backup(*file);
        std::cout << "backed up " << options.path << " to " << *file
                  << "; restore it with: convene restore-backup " << *file << " --db PATH\n";
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("restore-backup",
                                   "Make the store (--db) the backup FILE: the same feeds, history and members' tokens");
    auto file = std::make_shared<std::string>();
    auto replace = std::make_shared<bool>(false);
    auto dry_run = std::make_shared<bool>(false);
    cmd->add_option("FILE", *file, "A backup written by convene backup")->required();
    cmd->add_flag("--replace", *replace, "Replace a store that already holds data (all of it)");
    add_dry_run_option(*cmd, *dry_run);
    cmd->callback([&context, file, replace, dry_run] {
      try {
        StoreOptions options;
        options.path = context.store_path();
        const bool exists = std::filesystem::exists(options.path);
        Store::restore_backup(*file, options, *replace, *dry_run);
        if (*dry_run) {
          std::cout << "dry run: would have restored " << *file << " into " << options.path
                    << (exists ? ", replacing the store there" : ", a new store") << "\n  nothing was written\n";
          return;
        }
        std::cout << "restored " << *file << " into " << options.path << "\n";
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
});

}  // namespace convene::cli
