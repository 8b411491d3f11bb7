#include "json_columns.hpp"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

namespace mesoflow::store {
namespace {

using nlohmann::json;

// One JSON value as read from a column's text. A number keeps its text
// exactly as PostgreSQL wrote it (jsonb stores 1e400 as a 401-digit
// integer, which no double holds; 0.10 stays 0.10). `text` is a string's
// content, or the compact JSON text of any other value but a container
// looked into: `items` / `members` are filled for the levels a column's
// reading looks into (`depth`), in the order written.
struct Value {
    enum class Kind { null, boolean, number, string, array, object };
    Kind kind = Kind::null;
    std::string text;
    std::vector<Value> items;
    std::vector<std::pair<std::string, Value>> members;
};

// Reads PostgreSQL's JSON text (what jsonb::text and array_to_json give);
// nullopt, with `why`, on anything else, including a string that is not
// valid UTF-8.
class Reader {
  public:
    explicit Reader(std::string_view text) : text_(text) {}

    std::optional<Value> document(int depth, std::string& why) {
        Value out;
        if (!value(out, depth) || (skip_space(), at_ < text_.size())) {
            why = why_.empty() ? "not JSON" : why_;
            return std::nullopt;
        }
        return out;
    }

  private:
    void skip_space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' ||
                                      text_[at_] == '\n' || text_[at_] == '\r'))
            ++at_;
    }

    bool fail(std::string why) {
        if (why_.empty())
            why_ = std::move(why);
        return false;
    }

    // The quoted string at `at_`, its quotes included; advances past it.
    bool raw_string(std::string_view& raw) {
        const auto start = at_++;
        while (at_ < text_.size() && text_[at_] != '"') {
            if (text_[at_] == '\\')
                ++at_;
            ++at_;
        }
        if (at_ >= text_.size())
            return fail("a string does not end");
        raw = text_.substr(start, ++at_ - start);
        return true;
    }

    bool string_content(std::string_view raw, std::string& out) {
        const json s = json::parse(raw, nullptr, false);
        if (!s.is_string())
            return fail("a string is not valid JSON text in UTF-8");
        out = s.get<std::string>();
        return true;
    }

    bool number(std::string& out) {
        const auto start = at_;
        if (at_ < text_.size() && text_[at_] == '-')
            ++at_;
        const auto digits = at_;
        while (at_ < text_.size() &&
               ((text_[at_] >= '0' && text_[at_] <= '9') || text_[at_] == '.' ||
                text_[at_] == 'e' || text_[at_] == 'E' || text_[at_] == '+' || text_[at_] == '-'))
            ++at_;
        if (at_ == digits || text_[digits] < '0' || text_[digits] > '9')
            return fail("a value is not JSON");
        out = std::string(text_.substr(start, at_ - start));
        return true;
    }

    bool literal(Value& out) {
        for (const auto& [word, kind] : {std::pair{std::string_view("true"), Value::Kind::boolean},
                                         std::pair{std::string_view("false"), Value::Kind::boolean},
                                         std::pair{std::string_view("null"), Value::Kind::null}}) {
            if (text_.substr(at_, word.size()) == word) {
                at_ += word.size();
                out.kind = kind;
                out.text = std::string(word);
                return true;
            }
        }
        return fail("a value is not JSON");
    }

    // A container below the levels looked into: its compact text, read
    // without recursion (a producer's value may nest deeply), each string
    // checked.
    bool compact(std::string& out) {
        std::string open;
        do {
            skip_space();
            if (at_ >= text_.size())
                return fail("a container does not end");
            const char c = text_[at_];
            if (c == '"') {
                std::string_view raw;
                std::string ignored;
                if (!raw_string(raw) || !string_content(raw, ignored))
                    return false;
                out += raw;
                continue;
            }
            if (c == '[' || c == '{') {
                open.push_back(c == '[' ? ']' : '}');
            } else if (c == ']' || c == '}') {
                if (open.empty() || open.back() != c)
                    return fail("a container does not end as it began");
                open.pop_back();
            } else if (c != ',' && c != ':') {
                const auto start = at_;
                while (at_ < text_.size() && std::string_view(" \t\n\r,:]}[{\"").find(text_[at_]) ==
                                                 std::string_view::npos)
                    ++at_;
                out += text_.substr(start, at_ - start);
                continue;
            }
            out += c;
            ++at_;
        } while (!open.empty());
        return true;
    }

    bool value(Value& out, int depth) {
        skip_space();
        if (at_ >= text_.size())
            return fail("a value is missing");
        const char c = text_[at_];
        if (c == '"') {
            out.kind = Value::Kind::string;
            std::string_view raw;
            return raw_string(raw) && string_content(raw, out.text);
        }
        if (c == '[' || c == '{') {
            out.kind = c == '[' ? Value::Kind::array : Value::Kind::object;
            if (depth == 0)
                return compact(out.text);
            ++at_;
            const char close = c == '[' ? ']' : '}';
            skip_space();
            if (at_ < text_.size() && text_[at_] == close) {
                ++at_;
            } else {
                for (;;) {
                    if (out.kind == Value::Kind::object) {
                        skip_space();
                        std::string_view raw;
                        std::string key;
                        if (at_ >= text_.size() || text_[at_] != '"' || !raw_string(raw) ||
                            !string_content(raw, key))
                            return fail("an object's key is not a string");
                        skip_space();
                        if (at_ >= text_.size() || text_[at_++] != ':')
                            return fail("an object's key has no value");
                        out.members.emplace_back(std::move(key), Value{});
                        if (!value(out.members.back().second, depth - 1))
                            return false;
                    } else {
                        out.items.emplace_back();
                        if (!value(out.items.back(), depth - 1))
                            return false;
                    }
                    skip_space();
                    if (at_ < text_.size() && text_[at_] == ',') {
                        ++at_;
                        continue;
                    }
                    if (at_ < text_.size() && text_[at_] == close) {
                        ++at_;
                        break;
                    }
                    return fail("a container does not end");
                }
            }
            return true;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            out.kind = Value::Kind::number;
            return number(out.text);
        }
        return literal(out);
    }

    std::string_view text_;
    std::size_t at_ = 0;
    std::string why_;
};

std::optional<Value> read(std::string_view text, int depth, std::string& why) {
    return Reader(text).document(depth, why);
}

void set(std::string* why, std::string text) {
    if (why)
        *why = std::move(text);
}

// An object's members as text pairs, in key order (as they always were
// handed on).
std::optional<StringPairs> pairs_of(Value& doc, std::string* why) {
    if (doc.kind != Value::Kind::object) {
        set(why, "not a JSON object");
        return std::nullopt;
    }
    std::stable_sort(doc.members.begin(), doc.members.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    StringPairs out;
    out.reserve(doc.members.size());
    for (auto& [k, v] : doc.members)
        out.emplace_back(std::move(k), std::move(v.text));
    return out;
}

// An object's member named `key` (jsonb keeps one of each), or nullptr.
const Value* member(const Value& object, std::string_view key) {
    for (const auto& [k, v] : object.members) {
        if (k == key)
            return &v;
    }
    return nullptr;
}

}  // namespace

std::string json_object(const StringPairs& pairs) {
    json out = json::object();
    for (const auto& [k, v] : pairs)
        out[k] = v;
    return out.dump();
}

std::string json_constraints(const std::vector<task::Constraint>& constraints) {
    json out = json::array();
    for (const auto& c : constraints) {
        json triple = json::array({c.attribute, std::string(to_string(c.op))});
        if (c.op != task::Constraint::Op::exists)
            triple.push_back(c.value);
        out.push_back(std::move(triple));
    }
    return out.dump();
}

std::string json_volumes(const std::vector<task::Volume>& volumes) {
    json out = json::array();
    for (const auto& v : volumes) {
        out.push_back({{"host_path", v.host_path},
                       {"container_path", v.container_path},
                       {"mode", v.read_only ? "RO" : "RW"}});
    }
    return out.dump();
}

std::string json_parameters(const StringPairs& parameters) {
    json out = json::array();
    for (const auto& [k, v] : parameters)
        out.push_back({{"key", k}, {"value", v}});
    return out.dump();
}

std::optional<StringPairs> parse_json_object(std::string_view text, std::string* why) {
    if (text == "{}")
        return StringPairs{};  // the common case, without a parser
    std::string error;
    auto doc = read(text, 1, error);
    if (!doc) {
        set(why, error);
        return std::nullopt;
    }
    return pairs_of(*doc, why);
}

std::optional<std::vector<std::string>> parse_json_strings(std::string_view text,
                                                           std::string* why) {
    std::vector<std::string> out;
    if (text.empty() || text == "null" || text == "[]")
        return out;
    std::string error;
    auto doc = read(text, 1, error);
    if (!doc || doc->kind != Value::Kind::array) {
        set(why, doc ? "not a JSON array" : error);
        return std::nullopt;
    }
    for (auto& v : doc->items)
        out.push_back(std::move(v.text));
    return out;
}

std::optional<std::vector<task::Constraint>> parse_json_constraints(std::string_view text,
                                                                    std::string* why) {
    std::vector<task::Constraint> out;
    if (text == "[]")
        return out;
    std::string error;
    auto doc = read(text, 2, error);
    if (!doc || doc->kind != Value::Kind::array) {
        set(why, doc ? "not a JSON array" : error);
        return std::nullopt;
    }
    // A constraint left out would let the task run where it must not: one
    // that cannot be read makes the whole column unreadable.
    for (auto& triple : doc->items) {
        const auto op = triple.kind == Value::Kind::array && triple.items.size() >= 2 &&
                                triple.items[1].kind == Value::Kind::string
                            ? task::parse_constraint_op(triple.items[1].text)
                            : std::nullopt;
        if (!op) {
            set(why, "a constraint is not an [attribute, op, value] triple");
            return std::nullopt;
        }
        task::Constraint c;
        c.attribute = std::move(triple.items[0].text);
        c.op = *op;
        if (triple.items.size() > 2 && triple.items[2].kind != Value::Kind::null)
            c.value = std::move(triple.items[2].text);
        out.push_back(std::move(c));
    }
    return out;
}

std::optional<std::vector<task::Volume>> parse_json_volumes(std::string_view text,
                                                            std::string* why) {
    std::vector<task::Volume> out;
    if (text.empty() || text == "null" || text == "[]")
        return out;
    std::string error;
    auto doc = read(text, 2, error);
    if (!doc) {
        set(why, error);
        return std::nullopt;
    }
    if (doc->kind != Value::Kind::array)
        return out;
    for (auto& v : doc->items) {
        if (v.kind != Value::Kind::object)
            continue;
        const Value* host = member(v, "host_path");
        const Value* container = member(v, "container_path");
        const Value* mode = member(v, "mode");
        if (!host || host->kind != Value::Kind::string || !container ||
            container->kind != Value::Kind::string)
            continue;
        task::Volume volume;
        volume.host_path = host->text;
        volume.container_path = container->text;
        volume.read_only = !(mode && mode->kind == Value::Kind::string && mode->text == "RW");
        out.push_back(std::move(volume));
    }
    return out;
}

std::optional<StringPairs> parse_json_parameters(std::string_view text, std::string* why) {
    StringPairs out;
    if (text.empty() || text == "null" || text == "[]")
        return out;
    std::string error;
    auto doc = read(text, 2, error);
    if (!doc) {
        set(why, error);
        return std::nullopt;
    }
    if (doc->kind != Value::Kind::array)
        return out;
    for (auto& p : doc->items) {
        if (p.kind != Value::Kind::object)
            continue;
        const Value* key = member(p, "key");
        const Value* value = member(p, "value");
        if (!key || key->kind != Value::Kind::string || !value)
            continue;
        out.emplace_back(key->text, value->text);
    }
    return out;
}

}  // namespace mesoflow::store
