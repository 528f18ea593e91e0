// convene target add | list | show | remove: where invitations go.
//
//   convene target add NAME --kind email --smtp-url smtp://HOST:PORT --from "Name <addr>"
//       [--username U (--password-file F | --password-env VAR) [--keep-secret]]
//       [--starttls | --smtps] [--ca-file F] [--max-connections N] (--community ID... | --all)
//   convene target add NAME --kind caldav --url URL [--username U --password-file F]
//       [--organizer "Name <addr>"] [--ca-file F] [--max-connections N] (--community ID... | --all)
//   convene target add NAME --kind google --calendar-id ID --credentials-file SA.json [--subject USER]
//       [--meet] [--api-url URL --token-url URL] [--requests-per-minute N] ... (target_cloud.h)
//   convene target add NAME --kind graph --tenant T --client-id C --client-secret-file F --mailbox ADDR
//       [--teams] [--api-url URL --token-url URL] ...
//
// A password is never written to the store in clear: by default the target keeps the
// path of its file (which must be 0600, checked now and at every sync) or the name of
// its variable; with --keep-secret it is read once and sealed with the key file
// (--key-file, else $CONVENE_KEY_FILE, else the database's path + ".key", created 0600).
#include <cstdlib>
#include <iostream>
#include <memory>

#include "commands.h"
#include "convene/caldav.h"
#include "convene/invite.h"
#include "convene/store.h"
#include "invite_options.h"
#include "target_cloud.h"

namespace convene::cli {
namespace {

struct TargetFlags {
  std::string name, kind, smtp_url, from, username, password_file, password_env, url, organizer, ca_file, key_file;
  std::vector<std::string> communities;
  bool all = false, starttls = false, smtps = false, keep_secret = false, dry_run = false;
  std::size_t max_connections = invite::kDefaultConnections;
  std::string format = "text";
  CloudTargetFlags cloud;  // --kind google|graph (target_cloud.h, issue 12)
};

[[noreturn]] void refuse(const std::string& message) { throw StoreError(StoreError::Kind::invalid, message); }

}  // namespace

std::string key_file_path(Context& context, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("CONVENE_KEY_FILE"); env && *env) return env;
  return context.store_path() + ".key";
}

namespace {

// The password's reference (or its sealed form with --keep-secret), checked now.
std::optional<SecretRef> password_of(const TargetFlags& f, Context& context) {
  if (f.password_file.empty() && f.password_env.empty()) {
    if (f.keep_secret) refuse("--keep-secret needs --password-file or --password-env");
    return std::nullopt;
  }
  if (!f.password_file.empty() && !f.password_env.empty()) refuse("give --password-file or --password-env, not both");
  if (f.username.empty()) refuse("a password needs --username");
  const SecretRef ref = f.password_file.empty() ? SecretRef::env(f.password_env) : SecretRef::file(f.password_file);
  auto read = f.password_file.empty() ? read_secret_env(f.password_env)
                                      : read_secret_file(f.password_file, "--password-file");
  if (!read.secret) refuse(read.error);
  // A rehearsal seals nothing: it would create the key file.
  if (!f.keep_secret || f.dry_run) return ref;
  auto key = SecretKey::open_or_create(key_file_path(context, f.key_file));
  if (!key.key) refuse(key.error);
  return SecretRef::sealed(key.key->seal(*read.secret));
}

void only_for(const std::string& kind, const std::string& wanted, bool given, const char* flag) {
  if (given && kind != wanted) refuse(std::string(flag) + " is for --kind " + wanted + " targets");
}

TargetSpec spec_of(const TargetFlags& f, Context& context) {
  TargetSpec spec;
  spec.name = f.name;
  const auto kind = parse_target_kind(f.kind);
  if (!kind || (*kind != TargetKind::email && *kind != TargetKind::caldav && *kind != TargetKind::google &&
                *kind != TargetKind::graph))
    refuse("--kind \"" + f.kind + "\" is not a kind of target this convene syncs (email, caldav, google or graph)");
  spec.kind = *kind;
  only_for(f.kind, "email", !f.smtp_url.empty(), "--smtp-url");
  only_for(f.kind, "email", !f.from.empty(), "--from");
  only_for(f.kind, "email", f.starttls, "--starttls");
  only_for(f.kind, "email", f.smtps, "--smtps");
  only_for(f.kind, "caldav", !f.url.empty(), "--url");
  only_for(f.kind, "caldav", !f.organizer.empty(), "--organizer");
  if (f.all == !f.communities.empty()) refuse("give --community ID (repeatable) or --all");
  if (!f.all) spec.communities = f.communities;
  if (f.max_connections < 1 || f.max_connections > 64) refuse("--max-connections is a number from 1 to 64");
  if (!f.ca_file.empty() && !std::filesystem::is_regular_file(f.ca_file))
    refuse("--ca-file " + f.ca_file + " is not a readable file");

  std::string error;
  nlohmann::json settings;
  refuse_cloud_flags_for(f.kind, f.cloud);
  if (spec.kind == TargetKind::google || spec.kind == TargetKind::graph) {
    if (!f.username.empty() || !f.password_file.empty() || !f.password_env.empty())
      refuse("--username and --password-file are for email and caldav targets");
    settings = cloud_target_settings(f.kind, f.cloud, f.max_connections, f.ca_file);
  } else if (spec.kind == TargetKind::email) {
    if (f.smtp_url.empty()) refuse("an email target needs --smtp-url smtp://HOST:PORT");
    if (f.from.empty()) refuse("an email target needs --from \"Name <address>\"");
    if (f.starttls && f.smtps) refuse("give --starttls or --smtps, not both");
    invite::EmailSettings s;
    s.smtp_url = f.smtp_url;
    if (auto e = mail::smtp_url_error(s.smtp_url)) refuse("--smtp-url: " + *e);
    const bool implicit = s.smtp_url.rfind("smtps://", 0) == 0;
    if (f.smtps && !implicit) s.smtp_url = "smtps://" + s.smtp_url.substr(7);
    if (f.starttls && implicit) refuse("--starttls is for smtp:// (smtps:// is TLS from the start)");
    s.security = f.starttls ? mail::SmtpSecurity::starttls
                            : (f.smtps || implicit) ? mail::SmtpSecurity::tls : mail::SmtpSecurity::none;
    const auto from = mail::parse_address(f.from);
    if (!from.address) refuse("--from: " + from.error);
    s.from = *from.address;
    s.username = f.username;
    s.password = password_of(f, context);
    s.ca_file = f.ca_file;
    s.max_connections = f.max_connections;
    settings = invite::to_json(s);
    if (!invite::email_settings(settings, error)) refuse(error);
  } else {
    if (f.url.empty()) refuse("a CalDAV target needs --url (its calendar collection)");
    if (auto e = caldav::collection_url_error(f.url)) refuse("--url: " + *e);
    invite::CaldavSettings s;
    s.url = f.url;
    if (!f.organizer.empty()) {
      const auto o = mail::parse_address(f.organizer);
      if (!o.address) refuse("--organizer: " + o.error);
      s.organizer = *o.address;
    }
    s.username = f.username;
    s.password = password_of(f, context);
    s.ca_file = f.ca_file;
    s.max_connections = f.max_connections;
    settings = invite::to_json(s);
    if (!invite::caldav_settings(settings, error)) refuse(error);
  }
  spec.settings = settings.dump();
  return spec;
}

}  // namespace

static Registrar target_commands(40, [](CLI::App& app, Context& context) {
  auto* target = app.add_subcommand("target", "Where invitations go: add, list, show, remove");
  target->require_subcommand(1);
  {
    auto* cmd = target->add_subcommand("add", "Add an email (SMTP), CalDAV, Google Calendar or Microsoft 365 target");
    auto f = std::make_shared<TargetFlags>();
    cmd->add_option("NAME", f->name, "Target name (letters, digits, - _ .)")->required();
    cmd->add_option("--kind", f->kind, "email, caldav, google or graph")->required();
    cmd->add_option("--smtp-url", f->smtp_url, "email: smtp://HOST:PORT (or smtps://)");
    cmd->add_option("--from", f->from, "email: the sender, \"Name <address>\"");
    cmd->add_flag("--starttls", f->starttls, "email: require STARTTLS");
    cmd->add_flag("--smtps", f->smtps, "email: TLS from the first byte (port 465)");
    cmd->add_option("--url", f->url, "caldav: the organizer's calendar collection URL");
    cmd->add_option("--organizer", f->organizer, "caldav: ORGANIZER of series that name none, \"Name <address>\"");
    cmd->add_option("--username", f->username, "Login name");
    cmd->add_option("--password-file", f->password_file, "A file holding the password (mode 0600)");
    cmd->add_option("--password-env", f->password_env, "An environment variable holding the password");
    cmd->add_flag("--keep-secret", f->keep_secret, "Seal the password into the store with the key file");
    cmd->add_option("--key-file", f->key_file, "The key file (default: $CONVENE_KEY_FILE, else DB.key)");
    cmd->add_option("--ca-file", f->ca_file, "PEM certificates to trust for the server");
    cmd->add_option("--max-connections", f->max_connections, "Transfers at once (default 4)");
    add_cloud_target_options(*cmd, f->cloud);
    cmd->add_option("--community", f->communities, "A community whose series it carries (repeatable)");
    cmd->add_flag("--all", f->all, "Every community");
    add_format_option(*cmd, f->format, {"text", "json"});
    add_dry_run_option(*cmd, f->dry_run);
    cmd->callback([&context, f] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const TargetSpec spec = spec_of(*f, context);
        ChangeContext change;
        change.actor = actor(context);
        change.dry_run = f->dry_run;
        store->add_target(spec, change);
        if (f->dry_run) {
          std::cout << "would add target " << spec.name << " (" << f->kind << "); nothing written\n";
          return;
        }
        const auto added = *store->target(spec.name);
        std::cout << (f->format == "json" ? invite::target_json(added).dump(2) + "\n"
                                          : "added target " + invite::target_text(added));
      });
    });
  }
  {
    auto* cmd = target->add_subcommand("list", "List the targets and their last sync");
    auto format = std::make_shared<std::string>();
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, format] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const auto targets = store->targets();
        if (*format == "json") {
          nlohmann::ordered_json list = nlohmann::ordered_json::array();
          for (const auto& t : targets) list.push_back(invite::target_json(t));
          std::cout << list.dump(2) << "\n";
        } else {
          std::cout << invite::targets_text(targets);
        }
      });
    });
  }
  {
    auto* cmd = target->add_subcommand("show", "Show a target: settings, last sync, what it holds, its outbox");
    auto name = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "Target name")->required();
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, name, format] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const auto t = store->require_target(*name);
        std::cout << (*format == "json" ? invite::target_json(t, store.get()).dump(2) + "\n"
                                        : invite::target_text(t, store.get()));
      });
    });
  }
  {
    auto* cmd = target->add_subcommand("remove", "Remove a target (what it holds stays where it is)");
    auto name = std::make_shared<std::string>();
    auto dry_run = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "Target name")->required();
    add_dry_run_option(*cmd, *dry_run);
    cmd->callback([&context, name, dry_run] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        ChangeContext change;
        change.actor = actor(context);
        change.dry_run = *dry_run;
        store->remove_target(*name, change);
        std::cout << (*dry_run ? "would remove target " : "removed target ") << *name
                  << (*dry_run ? "; nothing written\n" : "\n");
      });
    });
  }
});

}  // namespace convene::cli
