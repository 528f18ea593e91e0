// convene config: the effective settings and where each came from (settings.h).
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"

namespace convene::cli {

static Registrar config_commands(5, [](CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("config", "Show the settings (store, listen address, base URL, access log) and where each comes from");
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&context, format] {
    const Settings& settings = context.settings();
    const std::map<Setting, std::string> flags{{Setting::db, context.global.db},
                                               {Setting::base_url, context.global.base_url}};
    std::ostringstream out;
    nlohmann::ordered_json json;
    json["config_file"] = settings.file().empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(settings.file());
    if (*format == "text") out << "configuration file: " << (settings.file().empty() ? "(none)" : settings.file()) << "\n";
    for (const auto& s : setting_table()) {
      // --listen and --access-log are options of `serve`; here only the other sources count.
      const auto it = flags.find(s.setting);
      const Resolved r = settings.resolve(s.setting, it == flags.end() ? "" : it->second);
      json["settings"][std::string(s.key)] = {{"value", r.value.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.value)},
                                              {"origin", r.origin}};
      if (*format == "text") {
        out << std::left << std::setw(11) << s.key << " " << (r.value.empty() ? "(none)" : r.value) << "  (" << r.origin
            << ")\n";
      }
    }
    std::cout << (*format == "json" ? json.dump(2) + "\n" : out.str());
  });
});

}  // namespace convene::cli
