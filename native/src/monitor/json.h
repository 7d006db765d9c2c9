// A small JSON reader for spec.json: a value tree plus a strict recursive-descent parser.
// No exceptions (the monitor builds with -fno-exceptions); errors come back as text.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace berth::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;

  // Object member by key, or nullptr.
  const Value* get(const char* key) const;
};

// Parses the whole text (one value, surrounding whitespace allowed). On failure returns
// false with *error like "offset 12: expected ':'".
bool parse(const std::string& text, Value* out, std::string* error);

}  // namespace berth::json
