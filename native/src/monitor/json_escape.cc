// JSON string escaping with UTF-8 validation (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF).
#include "monitor/json_escape.h"

#include <stdint.h>
#include <string.h>

#include <memory>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sys/cpu_features.h"

namespace berth {

namespace {

// Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there are not one.
size_t valid_sequence(const unsigned char* p, size_t avail) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (avail < need) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < need; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return need;
}

}  // namespace

namespace {

// What each byte needs: 0 goes through as it is, 1 is escaped, 2 starts a multi-byte sequence.
struct ByteClasses {
  unsigned char c[256];
  ByteClasses() {
    for (int i = 0; i < 256; i++) c[i] = i < 0x20 || i == '"' || i == '\\' ? 1 : i >= 0x80 ? 2 : 0;
  }
};
const ByteClasses kClass;

// Whether any of the 8 bytes in v needs more than a copy: below 0x20, '"', '\\' or from 0x80.
// (The classic "has a zero byte" bit trick, applied to v and to v xor each special byte.)
inline bool needs_care(uint64_t v) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  auto has_zero = [&](uint64_t x) { return ((x - ones) & ~x & highs) != 0; };
  auto below = [&](uint64_t x, uint64_t n) { return ((x - ones * n) & ~x & highs) != 0; };
  return (v & highs) || below(v, 0x20) || has_zero(v ^ (ones * '"')) || has_zero(v ^ (ones * '\\'));
}

}  // namespace

char* write_json_string(char* dst, const char* data, size_t len, bool* valid) {
  static const char kHex[] = "0123456789abcdef";
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  *dst++ = '"';
  size_t i = 0;
  while (i < len) {
    // Plain text goes 8 bytes at a time.
    uint64_t v;
    if (i + 8 <= len && (memcpy(&v, p + i, 8), !needs_care(v))) {
      memcpy(dst, &v, 8);
      dst += 8;
      i += 8;
      continue;
    }
    unsigned char c = p[i];
    switch (kClass.c[c]) {
      case 0:
        *dst++ = static_cast<char>(c);
        i++;
        continue;
      case 2: {
        size_t n = valid_sequence(p + i, len - i);
        if (n == 0) {
          memcpy(dst, "\xEF\xBF\xBD", 3);  // U+FFFD
          dst += 3;
          *valid = false;
          i++;
        } else {
          memcpy(dst, data + i, n);
          dst += n;
          i += n;
        }
        continue;
      }
    }
    *dst++ = '\\';
    switch (c) {
      case '"': *dst++ = '"'; break;
      case '\\': *dst++ = '\\'; break;
      case '\n': *dst++ = 'n'; break;
      case '\r': *dst++ = 'r'; break;
      case '\t': *dst++ = 't'; break;
      case '\b': *dst++ = 'b'; break;
      case '\f': *dst++ = 'f'; break;
      default:
        memcpy(dst, "u00", 3);
        dst[3] = kHex[c >> 4];
        dst[4] = kHex[c & 0xF];
        dst += 5;
    }
    i++;
  }
  *dst++ = '"';
  return dst;
}

bool append_json_string(std::string* out, const char* data, size_t len) {
  std::unique_ptr<char[]> buf(new char[2 + 6 * len]);
  bool valid = true;
  char* end = write_json_string(buf.get(), data, len, &valid);
  out->append(buf.get(), static_cast<size_t>(end - buf.get()));
  return valid;
}

size_t utf8_cut(const char* data, size_t len) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  for (size_t back = 1; back <= 3 && back <= len; back++) {
    unsigned char c = p[len - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? len - back : len;
  }
  return len;
}

bool is_valid_utf8(const char* data, size_t len) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  while (i < len) {
    uint64_t v;
    if (i + 8 <= len && (memcpy(&v, p + i, 8), (v & 0x8080808080808080ULL) == 0)) {
      i += 8;  // ASCII
      continue;
    }
    size_t n = valid_sequence(p + i, len - i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

size_t count_non_ascii(const char* data, size_t len) {
  size_t n = 0, i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, data + i, 8);
    // The high bits, moved to the bottom of each byte and summed by one multiply.
    n += static_cast<size_t>((((v & 0x8080808080808080ULL) >> 7) * 0x0101010101010101ULL) >> 56);
  }
  for (; i < len; i++) n += static_cast<unsigned char>(data[i]) >= 0x80;
  return n;
}

size_t count_controls(const char* data, size_t len, size_t enough) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL, lows = ~highs;
  // Exact per-byte tests (no borrow crosses a byte): the high bit of each byte says yes or no.
  auto below_space = [&](uint64_t v) { return ~((v | highs) - ones * 0x20) & ~v & highs; };
  auto equal = [&](uint64_t v, unsigned char c) {
    uint64_t x = v ^ (ones * c);
    return ~(((x & lows) + lows) | x) & highs;
  };
  size_t n = 0, i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, data + i, 8);
    uint64_t c = below_space(v);
    if (c) {
      n += static_cast<size_t>(__builtin_popcountll(c & ~(equal(v, '\n') | equal(v, '\t') | equal(v, '\r'))));
      if (n > enough) return n;
    }
  }
  for (; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    n += c < 0x20 && c != '\n' && c != '\t' && c != '\r';
  }
  return n;
}

namespace {

#if defined(__x86_64__)

// 32 bytes at a time: as signed bytes, both those below 0x20 and those from 0x80 (negative) are below 0x20.
__attribute__((target("avx2"))) size_t plain_prefix_avx2(const unsigned char* p, size_t len) {
  size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i special = _mm256_or_si256(
        _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v),
        _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')), _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))));
    if (_mm256_movemask_epi8(special) != 0) break;
  }
  return i;
}

#endif

}  // namespace

bool is_plain_ascii(const char* data, size_t len) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
#if defined(__x86_64__)
  if (len >= 32 && has_avx2()) {
    i = plain_prefix_avx2(p, len);
    if (i + 32 <= len) return false;  // a 32-byte block held a special byte
  }
#endif
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    if (needs_care(v)) return false;
  }
  for (; i < len; i++)
    if (kClass.c[p[i]] != 0) return false;
  return true;
}

namespace {

#if defined(__x86_64__)

// 24 bytes at p (28 readable) -> 32 characters at dst. Each 128-bit lane takes 12 bytes; each 32-bit
// word of it one group of three, a b c, placed as the bytes b a c b. Read as two 16-bit halves, the
// low one holds a:b and the high one b:c, and the four 6-bit values sit at bits 15-10 and 9-4 of the
// low half and at 11-6 and 5-0 of the high one. A high multiply moves the first and third down to
// bits 5-0 of their halves (bytes 0 and 2), a low multiply the second and fourth up to bits 13-8
// (bytes 1 and 3). The values then become characters by adding an offset that depends on their range.
__attribute__((target("avx2"))) void encode_block_avx2(const unsigned char* p, char* dst) {
  const __m256i in = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i groups = _mm256_shuffle_epi8(
      in, _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
                           1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10));
  const __m256i first_third = _mm256_mulhi_epu16(_mm256_and_si256(groups, _mm256_set1_epi32(0x0fc0fc00)),
                                                 _mm256_set1_epi32(0x04000040));
  const __m256i second_fourth = _mm256_mullo_epi16(_mm256_and_si256(groups, _mm256_set1_epi32(0x003f03f0)),
                                                   _mm256_set1_epi32(0x01000010));
  const __m256i values = _mm256_or_si256(first_third, second_fourth);
  // Ranges: 0-25 'A'.., 26-51 'a'.., 52-61 '0'.., 62 '+', 63 '/'. Class 0 is 26-51, 1-10 are 52-61,
  // 11 is 62, 12 is 63 (a saturating subtract of 51), and 13 is 0-25.
  __m256i cls = _mm256_subs_epu8(values, _mm256_set1_epi8(51));
  const __m256i below26 = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), values);
  cls = _mm256_or_si256(cls, _mm256_and_si256(below26, _mm256_set1_epi8(13)));
  const __m256i offsets = _mm256_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0,
                                           71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0);
  const __m256i chars = _mm256_add_epi8(values, _mm256_shuffle_epi8(offsets, cls));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), chars);
}

__attribute__((target("avx2"))) size_t encode_blocks_avx2(const unsigned char* p, size_t len, char* dst) {
  size_t done = 0;
  for (; len - done >= 28; done += 24, dst += 32) encode_block_avx2(p + done, dst);
  return done;
}

#endif

}  // namespace

char* write_base64(char* dst, const char* data, size_t len) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
#if defined(__x86_64__)
  // Binary output at full speed is mostly this (bench/README.md, "The ninth round").
  if (len >= 28 && has_avx2()) {
    i = encode_blocks_avx2(p, len, dst);
    dst += i / 3 * 4;
  }
#endif
  for (; i + 2 < len; i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    dst[0] = kAlphabet[v >> 18];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = kAlphabet[(v >> 6) & 63];
    dst[3] = kAlphabet[v & 63];
    dst += 4;
  }
  if (i < len) {
    uint32_t v = p[i] << 16;
    if (i + 1 < len) v |= p[i + 1] << 8;
    dst[0] = kAlphabet[v >> 18];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = i + 1 < len ? kAlphabet[(v >> 6) & 63] : '=';
    dst[3] = '=';
    dst += 4;
  }
  return dst;
}

}  // namespace berth
