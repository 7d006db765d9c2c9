// Recursive-descent JSON parser (RFC 8259): strings with \u escapes and surrogate pairs,
// numbers via strtod after a grammar check, nesting limited so hostile input cannot blow the stack.
#include "monitor/json.h"

#include <stdlib.h>
#include <string.h>

namespace berth::json {

const Value* Value::get(const char* key) const {
  for (const auto& kv : object)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  bool document(Value* out) {
    ws();
    if (!value(out, 0)) return false;
    ws();
    return pos_ == s_.size() || fail("trailing characters");
  }
  std::string error() const { return "offset " + std::to_string(pos_) + ": " + err_; }

 private:
  bool fail(const char* why) {
    if (err_.empty()) err_ = why;
    return false;
  }
  void ws() {
    while (pos_ < s_.size() && strchr(" \t\r\n", s_[pos_]) && s_[pos_]) pos_++;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      pos_++;
      return true;
    }
    return false;
  }
  bool literal(const char* word) {
    size_t n = strlen(word);
    if (s_.compare(pos_, n, word) != 0) return fail("invalid literal");
    pos_ += n;
    return true;
  }

  bool value(Value* v, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    switch (s_[pos_]) {
      case '{': return object(v, depth);
      case '[': return array(v, depth);
      case '"': v->kind = Value::Kind::String; return string(&v->string);
      case 't': v->kind = Value::Kind::Bool; v->boolean = true; return literal("true");
      case 'f': v->kind = Value::Kind::Bool; v->boolean = false; return literal("false");
      case 'n': v->kind = Value::Kind::Null; return literal("null");
      default: return number(v);
    }
  }

  bool object(Value* v, int depth) {
    v->kind = Value::Kind::Object;
    pos_++;
    ws();
    if (eat('}')) return true;
    for (;;) {
      ws();
      std::string key;
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string key");
      if (!string(&key)) return false;
      ws();
      if (!eat(':')) return fail("expected ':'");
      ws();
      v->object.emplace_back(std::move(key), Value());
      if (!value(&v->object.back().second, depth + 1)) return false;
      ws();
      if (eat('}')) return true;
      if (!eat(',')) return fail("expected ',' or '}'");
    }
  }

  bool array(Value* v, int depth) {
    v->kind = Value::Kind::Array;
    pos_++;
    ws();
    if (eat(']')) return true;
    for (;;) {
      ws();
      v->array.emplace_back();
      if (!value(&v->array.back(), depth + 1)) return false;
      ws();
      if (eat(']')) return true;
      if (!eat(',')) return fail("expected ',' or ']'");
    }
  }

  bool hex4(unsigned* out) {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("bad hex digit in \\u escape");
    }
    *out = v;
    return true;
  }

  static void put_utf8(std::string* out, unsigned cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool string(std::string* out) {
    pos_++;  // opening quote
    for (;;) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (pos_ >= s_.size()) return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          unsigned cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (!eat('\\') || !eat('u') || !hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF)
              return fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("unpaired surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
  }

  bool number(Value* v) {
    size_t start = pos_;
    eat('-');
    if (eat('0')) {
    } else if (pos_ < s_.size() && s_[pos_] >= '1' && s_[pos_] <= '9') {
      digits();
    } else {
      return fail("unexpected character");
    }
    if (eat('.') && !digits()) return fail("digit expected after '.'");
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return fail("digit expected in exponent");
    }
    v->kind = Value::Kind::Number;
    v->number = strtod(s_.substr(start, pos_ - start).c_str(), nullptr);
    return true;
  }
  bool digits() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') pos_++;
    return pos_ > start;
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::string err_;
};

}  // namespace

bool parse(const std::string& text, Value* out, std::string* error) {
  Parser p(text);
  *out = Value();
  if (p.document(out)) return true;
  *error = p.error();
  return false;
}

}  // namespace berth::json
