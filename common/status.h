// Errors as values: every fallible call at a module boundary returns Status or Result<T>.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace streamarc {

// A closed set of error kinds. Modules translate a C library's codes into these once, in
// their wrapper; the message carries the detail (offset, element, errno text...).
enum class Code {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed (bad MKV, bad name, bad JSON)
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // creating something that exists
  kFailedPrecondition,  // the system is not in a state that allows the call
  kOutOfRange,          // a value or time outside what is allowed
  kResourceExhausted,   // a limit or bound was hit (sizes, rates, disk space)
  kPermissionDenied,    // credentials or file permissions
  kDataLoss,            // stored data is corrupt or truncated
  kIoError,             // the OS refused a read, write or sync
  kUnavailable,         // try again later (shutting down, overloaded)
  kCancelled,           // the caller or a handler stopped the work
  kInternal,            // a bug: an invariant did not hold
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message", or "OK".
  std::string ToString() const;

  // Lets a caller that deliberately drops a status say so.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {Code::kFailedPrecondition, std::move(m)};
}
inline Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// An errno value turned into a Status once, at the system-call wrapper. ENOSPC and EDQUOT
// become kResourceExhausted, EACCES/EPERM kPermissionDenied, the rest kIoError.
Status ErrnoStatus(int err, std::string_view what);

// A value or the error that explains its absence (GCC 12 has no std::expected). The error
// is a Status unless the caller's vocabulary is richer: Result<T, KvsError>
// (common/kvs_error.h) is a value or the KVS exception that refuses it.
template <typename T, typename E = Status>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {   // NOLINT: implicit by design
    if constexpr (std::is_same_v<E, Status>) {
      assert(!std::get<1>(v_).ok() && "a Result needs a value or an error");
    }
  }

  bool ok() const { return v_.index() == 0; }
  // The error; only when !ok().
  const E& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  E&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }
  // OK when a value is held. (A Result<T, KvsError>'s cause is error().status.)
  Status status() const requires std::is_same_v<E, Status> {
    return ok() ? Status::Ok() : std::get<1>(v_);
  }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

// The message of every "busy" refusal (a full job queue): kUnavailable, HTTP 503, which
// clients and the AWS SDKs retry.
inline constexpr const char* kBusyMessage = "the server is busy; try again";

}  // namespace streamarc

#define STREAMARC_CONCAT_INNER(a, b) a##b
#define STREAMARC_CONCAT(a, b) STREAMARC_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::streamarc::Status status_macro_ = (expr);    \
    if (!status_macro_.ok()) return status_macro_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error (a Status, or
// whatever error type the Result carries).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(STREAMARC_CONCAT(result_macro_, __LINE__), lhs, expr)
// `lhs` is a declaration or an lvalue, so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
