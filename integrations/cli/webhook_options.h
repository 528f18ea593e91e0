// What the verbs that take --webhook-url share (commands_channel.cpp, commands_store.cpp).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"

namespace convene::cli {

// --webhook-url URL or --webhook-url-file FILE (not both): a URL on the command line is
// visible to every user of the machine (ps, /proc/PID/cmdline), so the file is the way
// for a real one. The file is held to the secret file rule (convene/secrets.h: a
// regular file, mode 0600 or 0400, read within bounds, one trailing newline dropped).
struct WebhookUrlFlags {
  std::string url, file;
  CLI::Option* url_option = nullptr;
  CLI::Option* file_option = nullptr;
  bool given() const { return url_option->count() > 0 || file_option->count() > 0; }
  // The flag given, for messages ("--webhook-url" or "--webhook-url-file").
  std::string flag() const { return file_option->count() > 0 ? "--webhook-url-file" : "--webhook-url"; }
};
// Adds both flags to `cmd` (`what` describes the URL in --help).
void add_webhook_url_flags(CLI::App& cmd, WebhookUrlFlags& flags, const std::string& what);
// The URL given (read from the file for --webhook-url-file); refuses an unreadable file.
std::string webhook_url_of(const WebhookUrlFlags& flags);

// `url` checked (convene/validate.h: webhook_url_problem, the message naming `flag` and
// never the URL) and sealed with the key file (key_file_path: --key-file, else
// $CONVENE_KEY_FILE, else DB.key, created 0600 on first use). A rehearsal (dry_run)
// checks it and seals nothing (sealing would create the key file): it returns a
// placeholder the store accepts.
std::string sealed_webhook_url(Context& context, const std::string& url, const std::string& flag,
                               const std::string& key_file, bool dry_run);

}  // namespace convene::cli
