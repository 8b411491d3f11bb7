// Appends compact JSON to a caller-owned string, placing commas itself. Keys
// and string values are escaped. Doubles are written in the shortest form that
// reads back to the same value, with ".0" on integral values as Mesos writes
// them; non-finite doubles become the strings "Infinity", "-Infinity" and
// "NaN", which Mesos' parser accepts. Private to src/mesos.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mesoflow::mesos::json {

// Deeper than any message mesoflow writes; exceeding it is a programming error.
inline constexpr int kMaxWriterDepth = 64;

class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    // A member name from user data (a map key): escaped as needed.
    void key(std::string_view name);
    // A proto field name: plain ASCII by construction, written as is.
    void field(std::string_view name);
    void string(std::string_view value);
    void number(double value);
    void integer(std::int64_t value);
    void unsigned_integer(std::uint64_t value);
    void boolean(bool value);
    // Already-serialized JSON, written as one value.
    void raw(std::string_view json);

    // {"value": "<id>"}: the shape of every Mesos id message.
    void id(std::string_view value);

  private:
    void before_value();
    void quoted(std::string_view value);
    void append_escape(char c);

    std::string& out_;
    std::array<bool, kMaxWriterDepth> first_{};
    int depth_ = 0;
    bool after_key_ = false;
};

}  // namespace mesoflow::mesos::json
