// The INI dialect of airflow.cfg, read the way Python's configparser (which
// Airflow uses) reads it:
//   - `[section]` headers; [DEFAULT] values are visible to %(..)s in every section;
//   - `key = value` or `key: value`, split at the first '=' or ':'; keys are
//     lower-cased; values are stripped;
//   - whole-line comments start with '#' or ';' (indented or not); there are
//     no inline comments at this level;
//   - a line indented deeper than its key continues the value ('\n'-joined;
//     blank lines inside are kept, trailing ones dropped);
//   - `%(name)s` interpolation from the same section or [DEFAULT], `%%` for
//     '%', at most kMaxInterpolationDepth levels deep.
// A line that is neither (outside a continuation), or a key before any
// section header, is a parse error naming the file and line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"

namespace mesoflow::config {

inline constexpr int kMaxInterpolationDepth = 10;

struct IniEntry {
    std::string section;  // as written
    std::string key;      // lower-cased
    std::string value;    // raw: not interpolated
    int line = 0;
};

struct IniDocument {
    std::string path;
    std::vector<IniEntry> entries;  // file order
};

// `path` only names the file in errors.
Result<IniDocument> parse_ini(std::string_view text, std::string_view path);

// The value of `entry` with %(name)s references resolved against its
// section, then [DEFAULT]. Errors name the file, line and key.
Result<std::string> interpolate(const IniDocument& doc, const IniEntry& entry);

bool same_section(std::string_view a, std::string_view b);  // case-insensitive

}  // namespace mesoflow::config
