// convene user ... | api-token ...: the accounts of the web workspace and the JSON API
// (convene/accounts.h). What they print comes from convene/views.h.
//
//   convene user add EMAIL --name NAME --role admin|facilitator [--community ID]...
//   convene user set EMAIL --role admin|facilitator [--community ID]...
//   convene user remove EMAIL | password-link EMAIL | list
//   convene api-token add NAME (--community ID... | --all) | revoke NAME | list
#include <iostream>

#include "commands.h"
#include "convene/accounts.h"
#include "convene/views.h"

namespace convene::cli {
namespace {

struct UserOptions {
  std::string email, name, role = "facilitator", format = "text";
  std::vector<std::string> communities;
};

Role role_of(const std::string& text) {
  if (auto r = parse_role(text)) return *r;
  throw StoreError(StoreError::Kind::invalid, "--role \"" + text + "\" is not admin or facilitator");
}

ChangeContext change_by(const Context& context) {
  ChangeContext c;
  c.actor = actor(context);
  return c;
}

std::optional<std::string> base(Context& context) {
  const std::string b = context.base_url();
  return b.empty() ? std::nullopt : std::optional(b);
}

void add_user_commands(CLI::App& app, Context& context) {
  auto* user = app.add_subcommand("user", "Facilitators and administrators of the web workspace");
  user->require_subcommand(1);
  {
    auto* cmd = user->add_subcommand("add", "Add a user; prints a one-time link to choose a password");
    auto o = std::make_shared<UserOptions>();
    cmd->add_option("EMAIL", o->email, "Their email address (they sign in with it)")->required();
    cmd->add_option("--name", o->name, "Their name, as pages and the history show it")->required();
    cmd->add_option("--role", o->role, "admin (every community) or facilitator (the --community ones)")
        ->check(CLI::IsMember({"admin", "facilitator"}));
    cmd->add_option("--community", o->communities, "A community whose sessions they may change; repeatable");
    add_format_option(*cmd, o->format, {"text", "json"});
    cmd->callback([&context, o] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        Accounts accounts(*store);
        const IssuedSecret link =
            accounts.add_user({.email = o->email, .name = o->name, .role = role_of(o->role), .communities = o->communities},
                              change_by(context));
        const User u = *accounts.user(o->email);
        std::cout << (o->format == "json" ? views::password_link_json(u, link, base(context)).dump(2) + "\n"
                                          : views::password_link_text(u, link, base(context), true));
      });
    });
  }
  {
    auto* cmd = user->add_subcommand("set", "Change a user's role and communities");
    auto o = std::make_shared<UserOptions>();
    cmd->add_option("EMAIL", o->email, "The user")->required();
    cmd->add_option("--role", o->role, "admin or facilitator")->required()->check(CLI::IsMember({"admin", "facilitator"}));
    cmd->add_option("--community", o->communities, "A community whose sessions they may change; repeatable");
    add_format_option(*cmd, o->format, {"text", "json"});
    cmd->callback([&context, o] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const User u = Accounts(*store).update_user(o->email, role_of(o->role), o->communities, change_by(context));
        std::cout << (o->format == "json" ? views::user_json(u).dump(2) + "\n" : views::users_text({u}));
      });
    });
  }
  {
    auto* cmd = user->add_subcommand("remove", "Remove a user (signed out at once)");
    auto email = std::make_shared<std::string>();
    cmd->add_option("EMAIL", *email, "The user")->required();
    cmd->callback([&context, email] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        Accounts(*store).remove_user(*email, change_by(context));
        std::cout << "removed user " << *email << "\n";
      });
    });
  }
  {
    auto* cmd = user->add_subcommand("password-link", "A new one-time link to choose a password (a forgotten one)");
    auto o = std::make_shared<UserOptions>();
    cmd->add_option("EMAIL", o->email, "The user")->required();
    add_format_option(*cmd, o->format, {"text", "json"});
    cmd->callback([&context, o] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        Accounts accounts(*store);
        const IssuedSecret link = accounts.issue_password_link(o->email, change_by(context));
        const User u = *accounts.user(o->email);
        std::cout << (o->format == "json" ? views::password_link_json(u, link, base(context)).dump(2) + "\n"
                                          : views::password_link_text(u, link, base(context), false));
      });
    });
  }
  {
    auto* cmd = user->add_subcommand("list", "List the users");
    auto format = std::make_shared<std::string>();
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, format] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const auto users = Accounts(*store).users();
        std::cout << (*format == "json" ? views::users_json(users).dump(2) + "\n" : views::users_text(users));
      });
    });
  }
}

struct TokenOptions {
  std::string name, format = "text";
  std::vector<std::string> communities;
  bool all = false;
};

void add_api_token_commands(CLI::App& app, Context& context) {
  auto* token = app.add_subcommand("api-token", "Bearer tokens of the JSON API (/api/v1), scoped to communities");
  token->require_subcommand(1);
  {
    auto* cmd = token->add_subcommand("add", "Add a token; prints it once");
    auto o = std::make_shared<TokenOptions>();
    cmd->add_option("NAME", o->name, "What uses it (letters, digits, - _ .)")->required();
    cmd->add_option("--community", o->communities, "A community it may read and change; repeatable");
    cmd->add_flag("--all", o->all, "Every community");
    add_format_option(*cmd, o->format, {"text", "json"});
    cmd->callback([&context, o] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const ApiTokenSpec spec{.name = o->name, .communities = o->communities, .all_communities = o->all};
        const IssuedSecret issued = Accounts(*store).add_api_token(spec, change_by(context));
        std::cout << (o->format == "json" ? views::issued_api_token_json(spec, issued).dump(2) + "\n"
                                          : views::issued_api_token_text(spec, issued));
      });
    });
  }
  {
    auto* cmd = token->add_subcommand("revoke", "Revoke a token (refused at once)");
    auto name = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "The token's name")->required();
    cmd->callback([&context, name] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        Accounts(*store).revoke_api_token(*name, change_by(context));
        std::cout << "revoked API token " << *name << "\n";
      });
    });
  }
  {
    auto* cmd = token->add_subcommand("list", "List the tokens (never the secrets)");
    auto format = std::make_shared<std::string>();
    add_format_option(*cmd, *format, {"text", "json"});
    cmd->callback([&context, format] {
      guarded(context, [&] {
        auto store = open_store(context, false);
        const auto tokens = Accounts(*store).api_tokens();
        std::cout << (*format == "json" ? views::api_tokens_json(tokens).dump(2) + "\n" : views::api_tokens_text(tokens));
      });
    });
  }
}

}  // namespace

static Registrar user_commands(40, [](CLI::App& app, Context& context) {
  add_user_commands(app, context);
  add_api_token_commands(app, context);
});

}  // namespace convene::cli
