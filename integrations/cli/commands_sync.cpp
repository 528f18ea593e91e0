// convene sync [--target NAME] [--dry-run] [--format text|json] [--key-file F]
//
// Plans every target (or one), prints the plan, carries it out with a progress bar on a
// terminal (standard error; plain lines when it is not a terminal), and ends with the
// report: what was done, what failed and why, what waits for the next sync. Exit status
// 0 when every target was served, 1 when one failed (the others were still served).
#include <unistd.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "convene/invite.h"
#include "convene/store.h"
#include "invite_options.h"

namespace convene::cli {
namespace {

// "\r[##########          ] 12/24 mail: rosa@example.org" on a terminal; else one line
// per step.
class Progress {
 public:
  Progress() : terminal_(::isatty(STDERR_FILENO) == 1) {}
  ~Progress() {
    if (terminal_ && drawn_) std::cerr << "\n";
  }
  void step(const std::string& target, std::size_t done, std::size_t total, const std::string& what) {
    if (!terminal_) {
      // One write a line (standard error is unbuffered).
      std::cerr << (target + ": " + std::to_string(done) + "/" + std::to_string(total) + " " + what + "\n");
      return;
    }
    constexpr std::size_t kWidth = 30;
    const std::size_t filled = total ? done * kWidth / total : kWidth;
    std::string bar(filled, '#');
    bar.resize(kWidth, ' ');
    std::string line = "[" + bar + "] " + std::to_string(done) + "/" + std::to_string(total) + " " + target + ": " + what;
    if (line.size() > 100) line.resize(100);
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
    drawn_ = true;
  }

 private:
  bool terminal_;
  bool drawn_ = false;
};

}  // namespace

static Registrar sync_commands(41, [](CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("sync", "Send invitations: bring every target to what the store says now");
  auto target = std::make_shared<std::string>();
  auto key_file = std::make_shared<std::string>();
  auto uid_domain = std::make_shared<std::string>("convene");
  auto dry_run = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>();
  cmd->add_option("--target", *target, "Only this target");
  cmd->add_flag("--dry-run", *dry_run, "Show the plan; send and write nothing");
  cmd->add_option("--key-file", *key_file, "The key of sealed secrets (default: $CONVENE_KEY_FILE, else DB.key)");
  cmd->add_option("--uid-domain", *uid_domain, "The domain part of every UID, as the feeds' (default: convene)");
  add_format_option(*cmd, *format, {"text", "json"});
  cmd->callback([&context, target, key_file, uid_domain, dry_run, format] {
    guarded(context, [&] {
      auto store = open_store(context, false);
      invite::SyncOptions options;
      if (!target->empty()) options.target = *target;
      options.dry_run = *dry_run;
      options.uid_domain = *uid_domain;
      const std::string key = key_file_path(context, *key_file);
      if (std::filesystem::exists(key) || !key_file->empty()) options.key_file = key;
      Progress progress;
      if (*format == "text") options.progress = [&](const std::string& t, std::size_t d, std::size_t n,
                                                    const std::string& what) { progress.step(t, d, n, what); };
      invite::SyncReport report;
      {
        report = invite::sync(*store, cli_clock(), options);
      }
      std::cout << (*format == "json" ? invite::report_json(report).dump(2) + "\n" : invite::report_text(report));
      if (!report.ok()) context.exit_code = kExitRefused;
    });
  });
});

}  // namespace convene::cli
