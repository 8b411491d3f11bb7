// StderrCapture: while it lives, whatever the process writes to stderr (our
// log lines) goes to a scratch file, so a test can check what an operator
// would read. The destructor restores stderr and copies the text back to it,
// so a failing test still shows its log.
#pragma once

#include <string>

namespace mesoflow::testing {

class StderrCapture {
  public:
    StderrCapture();
    ~StderrCapture();
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;

    std::string text() const;  // everything written so far

  private:
    std::string path_;
    int saved_fd_ = -1;
};

}  // namespace mesoflow::testing
