// JSON string output for the log and the control messages: escapes what RFC 8259 requires
// and replaces invalid UTF-8 so every line we write parses.
#pragma once

#include <stddef.h>

#include <string>

namespace berth {

// Writes "..." (with the quotes) at dst, which has room for 2 + 6 * len bytes; returns the end.
// Sets *valid to false if an invalid UTF-8 byte was replaced.
char* write_json_string(char* dst, const char* data, size_t len, bool* valid);

// Appends "..." (with the quotes). Each byte of an invalid UTF-8 sequence becomes U+FFFD,
// as Go's encoding/json (and so Docker's json-file driver) does. Returns false if any was replaced.
bool append_json_string(std::string* out, const char* data, size_t len);
inline void append_json_string(std::string* out, const std::string& s) {
  append_json_string(out, s.data(), s.size());
}

// Length of the longest prefix of data[0..len) that does not end inside a UTF-8 sequence
// that the following bytes could still complete. Used to cut long lines on a character boundary.
size_t utf8_cut(const char* data, size_t len);

// Whether data[0..len) is all valid UTF-8 (so a JSON string carries it without loss).
bool is_valid_utf8(const char* data, size_t len);
// How many bytes of data[0..len) are 0x80 or above.
size_t count_non_ascii(const char* data, size_t len);

// How many bytes of data[0..len) are control bytes other than \n, \t and \r (each is 6 bytes in JSON);
// it may stop counting once there are more than `enough`.
size_t count_controls(const char* data, size_t len, size_t enough = static_cast<size_t>(-1));

// Whether data[0..len) is all bytes a JSON string carries as they are: 0x20-0x7f except '"' and '\\'.
// Such text needs no other check (it is ASCII, without control bytes) and only a copy.
bool is_plain_ascii(const char* data, size_t len);

// Writes the standard base64 (RFC 4648, padded) of data[0..len) at dst, which has room for
// (len + 2) / 3 * 4 bytes; returns the end.
char* write_base64(char* dst, const char* data, size_t len);

}  // namespace berth
