// The two encodings of a json-file log line's bytes: a JSON string's content, and base64.
// Plain C++ without napi; js/log_scan.cc calls these once per line, so they go 16-32 bytes a step.
#pragma once

#include <stdint.h>

namespace berth {

// Unescapes the JSON string content that starts at p, writing its bytes as UTF-8 at out, up to
// its closing quote or limit, whichever comes first; *quote is set to where it stopped. Every
// JSON escape is accepted; a lone UTF-16 surrogate becomes U+FFFD (as JSON.parse and then
// Buffer.from(s, 'utf8') give), and raw bytes are copied as they are. nullptr for an escape that
// is not JSON or does not end before limit.
// Reads up to 16 bytes past any position before limit, and may write up to 16 bytes past the end
// it returns; it never writes more bytes than it reads.
uint8_t* unescape_json(const uint8_t* p, const uint8_t* limit, uint8_t* out, const uint8_t** quote);

// Decodes the base64 text [p, end) at out; returns the end of the bytes, or nullptr for text that
// is not base64 (a byte outside the alphabet, '=' other than as padding, 4n+1 characters).
// Padding is optional. Reads nothing outside [p, end); may write up to 8 bytes past the end it
// returns.
uint8_t* decode_base64(const uint8_t* p, const uint8_t* end, uint8_t* out);

}  // namespace berth
