// `convene`, the binary users run. It installs no test hook (see convene/fault_points.h
// and integrations/cli/testing/ for the test build, `convene-testing`).
#include "commands.h"

int main(int argc, char** argv) { return convene::cli::run(argc, argv); }
