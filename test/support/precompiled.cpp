// Builds the test suite's precompiled header (precompiled.hpp).
