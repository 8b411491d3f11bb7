// The headers nearly every test binary parses: precompiled once per build
// and shared by every test target (test/CMakeLists.txt), so each test file
// compiles its own code rather than Catch2's and nlohmann/json's again.
// Assertion macros without a try/catch each (CATCH_CONFIG_FAST_COMPILE): an
// unexpected exception still fails the test case that threw it.
#pragma once

#define CATCH_CONFIG_FAST_COMPILE
#include <fmt/core.h>
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
