// How a task row is shown to people: what it runs, as one line of text. For
// reading (`mesoflow status`, the status page), never for running; the
// caller escapes it for its terminal or page.
#pragma once

#include <string>

#include "mesoflow/store/task_view.hpp"

namespace mesoflow::store {

// A word quoted as a POSIX shell would need it.
std::string shell_quoted(const std::string& word);
// "/bin/sh -c '...'" or the argv, then the image and its containerizer.
std::string what_runs(const TaskRow& t);

}  // namespace mesoflow::store
