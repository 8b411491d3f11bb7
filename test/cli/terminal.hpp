// Runs the mesoflow binary with a pseudo-terminal as its stdin, stdout and
// stderr, for the prompts that only appear on a terminal. Waits for `prompt`
// in the output, then types `input`.
#pragma once

#include <string>
#include <vector>

#include "cli_fixture.hpp"

namespace mesoflow::testing {

CliResult mesoflow_on_terminal(const std::vector<std::string>& args,
                               const std::vector<std::string>& env, const std::string& prompt,
                               const std::string& input);

}  // namespace mesoflow::testing
