// kspam: find keyword spam in product listings. Each subcommand is one workflow stage;
// `kspam run` runs them all.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>

#include "cli.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/version.hpp"

namespace kspam::cli {

std::vector<Command>& commands() {
  static std::vector<Command> registry;
  return registry;
}

std::vector<RunStage>& run_stages() {
  static std::vector<RunStage> registry;
  return registry;
}

void say(const std::string& stage, const std::string& message) {
  std::fprintf(stderr, "[%s] %s\n", stage.c_str(), message.c_str());
  std::fflush(stderr);
}

}  // namespace kspam::cli

int main(int argc, char** argv) {
  using namespace kspam::cli;
  CLI::App app{"kspam " KSPAM_VERSION_STRING
               ": find keyword spam in product listings (brand stuffing, hashtag walls, off-platform calls to "
               "action, photos that contradict the text)"};
  app.set_version_flag("--version", KSPAM_VERSION_STRING);
  app.require_subcommand(1);
  auto& cmds = commands();
  std::sort(cmds.begin(), cmds.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  for (auto& cmd : cmds) cmd.setup(*app.add_subcommand(cmd.name, cmd.summary));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\n(run with --help for usage)\n";
    return 2;
  } catch (const kspam::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
