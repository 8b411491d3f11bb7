#include "mesoflow/store/what_runs.hpp"

#include <fmt/core.h>

namespace mesoflow::store {

std::string shell_quoted(const std::string& word) {
    if (!word.empty() && word.find_first_of(" \t\n'\"\\$`*?[]{}()<>|&;#~") == std::string::npos)
        return word;
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string what_runs(const TaskRow& t) {
    std::string out;
    if (t.command) {
        out = "/bin/sh -c " + shell_quoted(*t.command);
    } else {
        for (const auto& word : t.argv)
            out += (out.empty() ? "" : " ") + shell_quoted(word);
    }
    if (!t.image.empty()) {
        const auto containerizer = t.containerizer == task::Containerizer::none
                                       ? task::Containerizer::docker
                                       : t.containerizer;
        out += fmt::format("{}image {} ({} containerizer)", out.empty() ? "" : " in ", t.image,
                           task::to_string(containerizer));
    }
    return out;
}

}  // namespace mesoflow::store
