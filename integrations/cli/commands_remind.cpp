// convene remind | reminders: reminders and change notices (convene/remind.h).
//
//   convene remind --once [--dry-run] [--format text|json]   one pass at now (CONVENE_NOW)
//   convene reminders [--member ID] [--failed] [--format text|json]   the outbox's reminders and notices
//   convene worker [--lease PT1M]                      passes whenever there is work, until SIGTERM
#include <csignal>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "invite_options.h"
#include "convene/remind.h"
#include "convene/store.h"

namespace convene::cli {
namespace {

std::unique_ptr<Store> open_existing(Context& context) {
  StoreOptions options;
  options.path = context.store_path();
  options.create = false;
  options.clock = &cli_clock();
  return Store::open(options);
}

// The worker's clock: the system clock, or, with CONVENE_NOW, that instant at start
// moving on in real time from there (so a worker can be run against a rehearsal date).
class RunningClock final : public Clock {
 public:
  RunningClock() : start_(cli_clock().now()), real_start_(Clock::real().now()) {}
  Instant now() const override { return start_ + (Clock::real().now() - real_start_); }

 private:
  Instant start_, real_start_;
};

remind::StoreWatch* running_watch = nullptr;
extern "C" void on_stop_signal(int) {
  if (running_watch) running_watch->request_stop();
}

remind::PassOptions pass_options(Context& context, bool dry_run) {
  remind::PassOptions options;
  options.dry_run = dry_run;
  options.base_url = context.base_url();
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  const std::filesystem::path key = key_file_path(context, "");  // $CONVENE_KEY_FILE, else DB.key
  if (std::filesystem::exists(key)) options.key_file = key;
  return options;
}

int run_worker(Context& context, const std::string& lease_text) {
  const auto lease = parse_duration(lease_text);
  if (!lease || *lease < std::chrono::seconds{2} || *lease > std::chrono::hours{1})
    return fail("--lease \"" + lease_text.substr(0, 20) + "\" is not a duration from PT2S to PT1H (ISO 8601, e.g. PT1M)",
                kExitUsage);
  static const RunningClock clock;
  StoreOptions options;
  options.path = context.store_path();
  options.create = false;
  options.clock = &clock;
  auto store = Store::open(options);
  remind::StoreWatch watch(context.store_path(), clock);
  running_watch = &watch;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  remind::WorkerOptions worker_options;
  worker_options.pass = pass_options(context, false);
  worker_options.pass.lease = *lease;
  worker_options.log = [](const std::string& line) { std::cerr << "convene worker: " << line << std::endl; };
  remind::Worker worker(*store, clock, watch, std::move(worker_options));
  std::cerr << "convene worker: running on " << context.store_path() << " (SIGTERM stops it)" << std::endl;
  const auto passes = worker.run();
  running_watch = nullptr;
  std::cerr << "convene worker: stopped after " << passes << " pass(es)" << std::endl;
  return kExitOk;
}

}  // namespace

static Registrar remind_commands(45, [](CLI::App& app, Context& context) {
  {
    auto* cmd = app.add_subcommand("remind", "Plan reminders and change notices into the outbox and send what is due");
    auto once = std::make_shared<bool>(false);
    auto dry_run = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>();
    cmd->add_flag("--once", *once, "One pass at the current time (CONVENE_NOW sets it), then exit")->required();
    add_dry_run_option(*cmd, *dry_run);
    add_format_option(*cmd, *format, {"text", "json"});
    // `once` is kept alive by the callback: CLI11 writes the flag into it while parsing,
    // after this function returned (without it, a use after free: a crash at exit).
    cmd->callback([&context, once, dry_run, format] {
      try {
        auto store = open_existing(context);
        const auto options = pass_options(context, *dry_run);
        const auto report = remind::run_once(*store, cli_clock(), options);
        if (*format == "json") std::cout << remind::report_json(report, *dry_run).dump(2) << "\n";
        else std::cout << remind::report_text(report, *dry_run);
        if (!*dry_run && report.failed > 0) context.exit_code = kExitRefused;
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("worker",
                                   "Send reminders and change notices as they come due, until SIGTERM (a service: see deploy.md)");
    auto lease = std::make_shared<std::string>("PT1M");
    cmd->add_option("--lease", *lease,
                    "How long the lease on sending lasts unrenewed: another worker on the same store takes over "
                    "after it (ISO 8601, PT2S to PT1H; default PT1M)");
    cmd->callback([&context, lease] {
      try {
        context.exit_code = run_worker(context, *lease);
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("reminders", "List the reminders and notices in the outbox, with their state and attempts");
    auto member = std::make_shared<std::string>();
    auto failed = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>();
    cmd->add_option("--member", *member, "Only this member's");
    cmd->add_flag("--failed", *failed, "Only those that failed, with the last error");
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, member, failed, format] {
      try {
        auto store = open_existing(context);
        std::vector<OutboxMessage> messages;
        for (const char* kind : remind::kOutboxKinds) {
          OutboxQuery q;
          q.kind = kind;
          if (!member->empty()) q.member = *member;
          if (*failed) q.states = {OutboxMessage::State::failed};
          for (auto& m : store->outbox(q)) messages.push_back(std::move(m));
        }
        std::sort(messages.begin(), messages.end(),
                  [](const auto& a, const auto& b) { return a.due != b.due ? a.due < b.due : a.id < b.id; });
        if (*format == "json") std::cout << remind::outbox_json(messages).dump(2) << "\n";
        else std::cout << remind::outbox_text(messages);
      } catch (const std::exception& e) {
        context.exit_code = fail(e.what());
      }
    });
  }
});

}  // namespace convene::cli
