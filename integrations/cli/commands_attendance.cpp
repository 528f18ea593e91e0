// convene attendance SERIES [OCCURRENCE] [--all] [--format text|json|csv]
//
// Who accepted, declined, tentatively accepted or has not answered, per session, as the
// Google and Microsoft 365 targets last reported it (convene sync reads the answers
// back). Without OCCURRENCE: the series' sessions from today on (--all: from its first);
// with it, that session. An answer given for one session overrides the series' answer.
#include <iostream>
#include <memory>

#include "commands.h"
#include "convene/change_detector.h"
#include "convene/schedule.h"
#include "convene/store.h"
#include "convene/views.h"

namespace convene::cli {

static Registrar attendance_commands(45, [](CLI::App& app, Context& context) {
  auto* cmd = app.add_subcommand("attendance", "Show who accepted or declined each session (read back by sync)");
  auto series = std::make_shared<std::string>();
  auto occurrence = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>();
  cmd->add_option("SERIES", *series, "Series id")->required();
  cmd->add_option("OCCURRENCE", *occurrence, "Occurrence id (its original start) or date");
  cmd->add_flag("--all", *all, "Every session from the series' first, not only from today on");
  add_format_option(*cmd, *format, {"text", "json", "csv"});
  cmd->callback([&context, series, occurrence, all, format] {
    guarded(context, [&] {
      auto store = open_store(context, false);
      const auto loaded = store->load();
      if (!loaded.ok()) throw StoreError(StoreError::Kind::corrupt, store->path() + " holds definitions this convene cannot use");
      const Definitions& defs = *loaded.definitions;
      const auto [community, def] = defs.find_series(*series);
      if (!def) throw StoreError(StoreError::Kind::invalid, "no series \"" + *series + "\" in store " + store->path());
      std::optional<LocalTime> original;
      if (!occurrence->empty()) original = read_occurrence(*store, *series, *occurrence);
      const auto day = today(community->zone);
      if (!day) {
        context.exit_code = kExitRefused;
        return;
      }
      const LocalDay first{date::floor<date::days>(def->start)};
      const Window window{first, std::max(first, feed_horizon(cli_clock().now()))};
      ExpandOptions only;
      only.series = *series;
      std::vector<Occurrence> sessions;
      for (auto& o : expand(defs, window, only)) {
        const LocalDay on{date::floor<date::days>(o.local_start.value_or(o.original))};
        if (original ? o.original == *original : (*all || on >= *day)) sessions.push_back(o);
      }
      if (original && sessions.empty())
        throw StoreError(StoreError::Kind::invalid, "series \"" + *series + "\" has no session " +
                                                        format_local_minute(*original));
      const auto view = views::attendance(sessions, store->invitees(*series), store->responses(*series));
      if (*format == "json") std::cout << views::attendance_json(*def, *community, view).dump(2) << "\n";
      else if (*format == "csv") std::cout << views::attendance_csv(*def, view);
      else std::cout << views::attendance_text(*def, view);
    });
  });
});

}  // namespace convene::cli
