// Result<T>: the value of an operation that can fail at a boundary (network,
// database, parse). The caller must look at it: either a T or an Error with a
// message for operators. Exceptions stay for start-up and programming errors.
//
// An Error also says whether the same call is worth making again as it is:
// - transient (the default): the failure came from the moment, not from what
//   was asked. The connection was lost or refused, the server is restarting
//   or shutting down, a serialization failure or deadlock rolled the
//   transaction back, a lock or statement timeout ran out, the server has
//   too many connections or too little memory or disk. Retrying the same
//   batch later may well succeed.
// - permanent: the same statement will fail again on the same data: a
//   constraint violated (unique, foreign key, not null, check), a trigger or
//   check refusing the data, bad data (a value out of range, invalid text),
//   an undefined table, column or function. Retrying as is cannot help;
//   something must change first (the data, or the database by an operator).
// - fenced: this process no longer leads (another took leadership; see
//   schemas/0007_leader_epoch.sql): nothing of it was written, and nothing
//   may be, by this leadership. Not worth retrying: the caller steps down.
// Error{"message"} is transient; the store sets the kind from the server's
// SQLSTATE. Code that wraps an Error into a new one carries its kind.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mesoflow {

enum class ErrorKind { transient, permanent, fenced };

struct Error {
    std::string message;
    ErrorKind kind = ErrorKind::transient;

    bool permanent() const { return kind == ErrorKind::permanent; }
    bool fenced() const { return kind == ErrorKind::fenced; }
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }

    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

// A Result that carries no value: success, or an Error.
class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design
    static Status success() { return {}; }

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

  private:
    Error error_;
    bool ok_ = true;
};

}  // namespace mesoflow
