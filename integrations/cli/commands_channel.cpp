// convene channel add | list | remove: a community's own channels (a Slack or Teams
// webhook that hears "Power Hour starts in 15 minutes" and the community's change notices).
//
//   convene channel add NAME --community ID --webhook-url URL [--remind PT15M ...] [--key-file F]
//   convene channel list [--format text|json]
//   convene channel remove NAME
//
// The URL is a secret (whoever has it posts to the channel): checked here, sealed into the
// store with the key file, never printed back (listings show its host: "https://hooks.slack.com/…").
#include <iostream>
#include <memory>

#include "commands.h"
#include "convene/remind.h"
#include "convene/secrets.h"
#include "convene/store.h"
#include "convene/validate.h"
#include "convene/webhook.h"
#include "invite_options.h"
#include "webhook_options.h"

namespace convene::cli {

namespace {

[[noreturn]] void refuse(const std::string& message) { throw StoreError(StoreError::Kind::invalid, message); }

// A rehearsal's stand-in for a sealed URL (the store only checks there is one).
constexpr const char* kRehearsedSeal = "(not sealed: a rehearsal)";

std::vector<Seconds> offsets_of(const std::vector<std::string>& texts) {
  std::vector<Seconds> out;
  for (const auto& t : texts) {
    auto d = parse_duration(t);
    if (!d || d->count() < 0) refuse("--remind " + quote_value(t, 20) + " is not a duration before the start (PT15M, P1D)");
    out.push_back(*d);
  }
  return out;
}

}  // namespace

void add_webhook_url_flags(CLI::App& cmd, WebhookUrlFlags& flags, const std::string& what) {
  flags.url_option = cmd.add_option("--webhook-url", flags.url,
                                    what + " (https://; http:// only to this machine), sealed into the store; "
                                           "visible in ps: prefer --webhook-url-file");
  flags.file_option = cmd.add_option("--webhook-url-file", flags.file,
                                     "A file holding that URL (mode 0600 or 0400, one line), read instead of "
                                     "--webhook-url");
  flags.url_option->excludes(flags.file_option);
}

std::string webhook_url_of(const WebhookUrlFlags& flags) {
  if (flags.file_option->count() == 0) return flags.url;
  auto read = read_secret_file(flags.file, "--webhook-url-file");
  if (!read.secret) refuse(read.error);
  return std::string(read.secret->reveal());
}

std::string sealed_webhook_url(Context& context, const std::string& url, const std::string& flag,
                               const std::string& key_file, bool dry_run) {
  if (auto why = webhook_url_problem(url)) refuse(flag + ": " + *why);
  if (dry_run) return kRehearsedSeal;
  auto key = SecretKey::open_or_create(key_file_path(context, key_file));
  if (!key.key) refuse(key.error);
  return key.key->seal(Secret(url));
}

static Registrar channel_commands(46, [](CLI::App& app, Context& context) {
  auto* channel = app.add_subcommand("channel", "A community's channels (webhooks for Slack or Teams): add, list, remove");
  channel->require_subcommand(1);
  {
    struct Flags {
      std::string name, community, key_file, format = "text";
      WebhookUrlFlags webhook;
      std::vector<std::string> remind;
      bool dry_run = false;
    };
    auto* cmd = channel->add_subcommand("add", "Add a webhook that gets a community's reminders and change notices");
    auto f = std::make_shared<Flags>();
    cmd->add_option("NAME", f->name, "Channel name (letters, digits, - _ .)")->required();
    cmd->add_option("--community", f->community, "The community whose sessions it hears of")->required();
    add_webhook_url_flags(*cmd, f->webhook, "The incoming webhook's URL");
    cmd->add_option("--remind", f->remind, "Reminder before each session (PT15M, P1D; repeat; default each series' reminders)");
    cmd->add_option("--key-file", f->key_file, "The key file (default: $CONVENE_KEY_FILE, else DB.key)");
    add_format_option(*cmd, f->format, {"text", "json"});
    add_dry_run_option(*cmd, f->dry_run);
    cmd->callback([&context, f] {
      guarded(context, [&] {
        ChannelSpec spec;
        spec.name = f->name;
        spec.community = f->community;
        spec.offsets = offsets_of(f->remind);
        if (!f->webhook.given()) refuse("channel add needs the webhook's URL: --webhook-url-file FILE (or --webhook-url URL)");
        const std::string url = webhook_url_of(f->webhook);
        auto store = open_store(context, false);
        spec.webhook = sealed_webhook_url(context, url, f->webhook.flag(), f->key_file, f->dry_run);
        ChangeContext change;
        change.actor = actor(context);
        change.dry_run = f->dry_run;
        store->add_channel(spec, change);
        const std::string where = webhook::mask(url);
        if (f->format == "json") {
          ChannelInfo info{spec, cli_clock().now()};
          auto j = remind::channels_json({info})[0];
          j["posts_to"] = where;
          j["dry_run"] = f->dry_run;
          std::cout << j.dump(2) << "\n";
        } else {
          std::cout << (f->dry_run ? "dry run: would add channel " : "added channel ") << spec.name << " of community "
                    << spec.community << ", posting to " << where << (f->dry_run ? "; nothing was written" : "") << "\n";
        }
      });
    });
  }
  {
    auto* cmd = channel->add_subcommand("list", "List the community channels");
    auto format = std::make_shared<std::string>();
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, format] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const auto channels = store->channels();
        std::cout << (*format == "json" ? remind::channels_json(channels).dump(2) + "\n" : remind::channels_text(channels));
      });
    });
  }
  {
    auto* cmd = channel->add_subcommand("remove", "Remove a community channel (its waiting messages are withdrawn)");
    auto name = std::make_shared<std::string>();
    auto dry_run = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "Channel name")->required();
    add_dry_run_option(*cmd, *dry_run);
    cmd->callback([&context, name, dry_run] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        ChangeContext change;
        change.actor = actor(context);
        change.dry_run = *dry_run;
        store->remove_channel(*name, change);
        std::cout << (*dry_run ? "dry run: would remove channel " + *name + "; nothing was written\n"
                               : "removed channel " + *name + "\n");
      });
    });
  }
});

}  // namespace convene::cli
