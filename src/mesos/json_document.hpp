// A read-only JSON document for the protocol codec: one validating pass over
// the text builds a flat "tape" of nodes that point into the text, so reading
// a large OFFERS event allocates little beyond the tape itself. The document
// borrows the text: it must outlive the document.
//
// Layout: every node records the index one past its subtree (`end`), so a
// reader can skip a value in O(1). An object's children are key/value pairs:
// a string node for the key, then the value's subtree.
//
// parse_json returns an Error naming the byte offset for malformed JSON,
// invalid UTF-8, or nesting deeper than kMaxJsonDepth. Private to src/mesos.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mesoflow/common/result.hpp"

namespace mesoflow::mesos::json {

// Mesos events nest about ten levels deep; anything far deeper is hostile or
// corrupt, and the bound keeps the recursive parser's stack small.
inline constexpr int kMaxJsonDepth = 128;

enum class Kind : std::uint8_t { null, boolean, number, string, array, object };

std::string_view kind_name(Kind kind);

struct Node {
    Kind kind = Kind::null;
    bool flag = false;         // boolean: its value; string: has escapes to decode
    std::uint32_t end = 0;     // index one past this node's subtree
    std::uint32_t size = 0;    // array elements or object members
    std::uint32_t offset = 0;  // string: first byte inside the quotes; else first byte
    std::uint32_t length = 0;  // string: bytes inside the quotes; else the value's whole text
};

class Document {
  public:
    std::string_view text() const { return text_; }
    const std::vector<Node>& nodes() const { return nodes_; }
    const Node& node(std::uint32_t i) const { return nodes_[i]; }

    // The raw JSON text of node i (for strings, the content between the quotes).
    std::string_view raw(std::uint32_t i) const {
        return text_.substr(nodes_[i].offset, nodes_[i].length);
    }
    // The decoded value of string node i.
    std::string string_value(std::uint32_t i) const;
    // Decoded string, borrowing the text when it has no escapes; `scratch`
    // holds the decoded copy otherwise.
    std::string_view string_view_of(std::uint32_t i, std::string& scratch) const;

  private:
    friend Result<Document> parse_json(std::string_view text);
    std::string_view text_;
    std::vector<Node> nodes_;
};

// Documents larger than this many bytes are refused: node offsets are 32-bit.
inline constexpr std::size_t kMaxJsonBytes = 0xFFFF'FFFFu;

Result<Document> parse_json(std::string_view text);

// Decodes the body of a JSON string (without its quotes), which parse_json has
// already validated.
void unescape_into(std::string_view raw, std::string& out);

}  // namespace mesoflow::mesos::json
