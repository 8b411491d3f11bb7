#include <cctype>
#include <string>
#include <string_view>

#include "config/text.hpp"
#include "mesoflow/config/render.hpp"

namespace mesoflow::config {
namespace {

constexpr std::string_view kMask = "****";

bool is_password_key(std::string_view key) {
    const std::string k = lower(key);
    return k == "password" || k == "sslpassword";
}

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// libpq "key = value key2='quoted \' value'" form.
std::string mask_keyword_value(std::string_view dsn) {
    std::string out;
    std::size_t i = 0;
    const std::size_t n = dsn.size();
    while (i < n) {
        while (i < n && is_space(dsn[i]))
            out += dsn[i++];
        const std::size_t key_start = i;
        while (i < n && dsn[i] != '=' && !is_space(dsn[i]))
            ++i;
        const std::string_view key = dsn.substr(key_start, i - key_start);
        out += key;
        while (i < n && is_space(dsn[i]))
            out += dsn[i++];
        if (i >= n || dsn[i] != '=') {
            out += dsn.substr(i);  // malformed: libpq will refuse it; nothing after can be a value
            break;
        }
        out += dsn[i++];
        while (i < n && is_space(dsn[i]))
            out += dsn[i++];
        const std::size_t value_start = i;
        if (i < n && dsn[i] == '\'') {
            ++i;
            while (i < n && dsn[i] != '\'')
                i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
            if (i < n)
                ++i;
        } else {
            while (i < n && !is_space(dsn[i]))
                i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
        }
        if (is_password_key(key) && i > value_start) {
            out += kMask;
        } else {
            out += dsn.substr(value_start, i - value_start);
        }
    }
    return out;
}

// postgresql://user:password@host/db?password=...; the user info ends at the
// last '@', so a password holding an unescaped '@' or '/' is still covered.
std::string mask_uri(std::string_view dsn) {
    const std::size_t authority = dsn.find("://") + 3;
    std::string out(dsn.substr(0, authority));
    std::size_t rest = authority;
    const std::size_t at = dsn.rfind('@');
    if (at != std::string_view::npos && at >= authority) {
        const std::string_view userinfo = dsn.substr(authority, at - authority);
        const std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            out += userinfo;
        } else {
            out += userinfo.substr(0, colon + 1);
            out += kMask;
        }
        out += '@';
        rest = at + 1;
    }
    const std::size_t query = dsn.find('?', rest);
    out +=
        dsn.substr(rest, query == std::string_view::npos ? std::string_view::npos : query - rest);
    if (query == std::string_view::npos)
        return out;
    out += '?';
    std::size_t pos = query + 1;
    while (pos <= dsn.size()) {
        std::size_t end = dsn.find('&', pos);
        if (end == std::string_view::npos)
            end = dsn.size();
        const std::string_view param = dsn.substr(pos, end - pos);
        const std::size_t eq = param.find('=');
        if (eq != std::string_view::npos && is_password_key(param.substr(0, eq))) {
            out += param.substr(0, eq + 1);
            out += kMask;
        } else {
            out += param;
        }
        if (end < dsn.size())
            out += '&';
        pos = end + 1;
    }
    return out;
}

}  // namespace

std::string mask_dsn(std::string_view dsn) {
    // Only a leading scheme makes a URI: "://" inside a key=value password must not.
    const std::size_t sep = dsn.find("://");
    bool uri = sep != std::string_view::npos && sep > 0;
    for (std::size_t i = 0; uri && i < sep; ++i) {
        const char c = dsn[i];
        uri = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    }
    return uri ? mask_uri(dsn) : mask_keyword_value(dsn);
}

}  // namespace mesoflow::config
