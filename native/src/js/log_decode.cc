// JSON string unescaping and base64 decoding for the log catch-up (js/log_scan.cc). Plain text
// and base64 go 16 (SSE2) and 32 (AVX2, when the CPU has it) bytes a step; the rest is scalar.
#include "js/log_decode.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sys/cpu_features.h"

namespace berth {

namespace {

// Copies 16 bytes from p to out; returns the index of the first '"' or '\\' among them, or 16.
inline unsigned copy_plain16(const uint8_t* p, uint8_t* out) {
#if defined(__SSE2__)
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
  __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
  return mask ? static_cast<unsigned>(__builtin_ctz(mask)) : 16;
#else
  memcpy(out, p, 16);
  for (unsigned i = 0; i < 16; i++)
    if (p[i] == '"' || p[i] == '\\') return i;
  return 16;
#endif
}

// The value of the 4 hex digits at p, or -1.
int hex4(const uint8_t* p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i], lower = c | 0x20;
    int d = c >= '0' && c <= '9' ? c - '0' : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v << 4 | d;
  }
  return v;
}

uint8_t* put_utf8(uint8_t* out, uint32_t cp) {
  if (cp < 0x80) {
    *out++ = static_cast<uint8_t>(cp);
  } else if (cp < 0x800) {
    *out++ = static_cast<uint8_t>(0xC0 | cp >> 6);
    *out++ = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out++ = static_cast<uint8_t>(0xE0 | cp >> 12);
    *out++ = static_cast<uint8_t>(0x80 | (cp >> 6 & 0x3F));
    *out++ = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  } else {
    *out++ = static_cast<uint8_t>(0xF0 | cp >> 18);
    *out++ = static_cast<uint8_t>(0x80 | (cp >> 12 & 0x3F));
    *out++ = static_cast<uint8_t>(0x80 | (cp >> 6 & 0x3F));
    *out++ = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  }
  return out;
}

// The escape at *p (which is a backslash), written at out; advances *p past it. nullptr if it is
// not a JSON escape or does not end before limit. Each escape is at least as long as its UTF-8.
uint8_t* unescape_one(const uint8_t** pp, const uint8_t* limit, uint8_t* out) {
  const uint8_t* p = *pp;
  if (limit - p < 2) return nullptr;
  uint8_t c = p[1];
  switch (c) {
    case '"': case '\\': case '/': *out++ = c; break;
    case 'b': *out++ = '\b'; break;
    case 'f': *out++ = '\f'; break;
    case 'n': *out++ = '\n'; break;
    case 'r': *out++ = '\r'; break;
    case 't': *out++ = '\t'; break;
    case 'u': {
      int unit = limit - p >= 6 ? hex4(p + 2) : -1;
      if (unit < 0) return nullptr;
      p += 6;
      uint32_t cp = static_cast<uint32_t>(unit);
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        // A high surrogate takes the low one escaped right after it; alone it is U+FFFD.
        int low = limit - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
        if (low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
          p += 6;
        } else {
          cp = 0xFFFD;
        }
      } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
        cp = 0xFFFD;
      }
      *pp = p;
      return put_utf8(out, cp);
    }
    default:
      return nullptr;
  }
  *pp = p + 2;
  return out;
}

// base64 character -> its 6 bits; 0xFF for everything else, '=' included.
struct Base64Table {
  uint8_t value[256];
  Base64Table() {
    memset(value, 0xFF, sizeof value);
    const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; i++) value[static_cast<uint8_t>(alphabet[i])] = static_cast<uint8_t>(i);
  }
};
const Base64Table kBase64;

// Whole quanta (4 characters -> 3 bytes), then 2 or 3 characters of an unpadded end.
uint8_t* decode_base64_scalar(const uint8_t* p, const uint8_t* end, uint8_t* out) {
  const uint8_t* t = kBase64.value;
  for (; end - p >= 4; p += 4, out += 3) {
    uint32_t a = t[p[0]], b = t[p[1]], c = t[p[2]], d = t[p[3]];
    if ((a | b | c | d) & 0x80) return nullptr;
    uint32_t v = a << 18 | b << 12 | c << 6 | d;
    out[0] = static_cast<uint8_t>(v >> 16);
    out[1] = static_cast<uint8_t>(v >> 8);
    out[2] = static_cast<uint8_t>(v);
  }
  if (end - p == 1) return nullptr;
  if (end - p >= 2) {
    uint32_t a = t[p[0]], b = t[p[1]], c = end - p == 3 ? t[p[2]] : 0;
    if ((a | b | c) & 0x80) return nullptr;
    *out++ = static_cast<uint8_t>(a << 2 | b >> 4);
    if (end - p == 3) *out++ = static_cast<uint8_t>(b << 4 | c >> 2);
  }
  return out;
}

#if defined(__x86_64__)

// 32 base64 characters at p -> 24 bytes at out (32 are stored); false, with nothing written, if
// any of them is outside the alphabet. The classification by nibbles and the packing with
// multiply-adds are Muła and Lemire's ("Faster Base64 Encoding and Decoding using AVX2
// Instructions", 2018).
__attribute__((target("avx2"), always_inline)) inline bool decode_block_avx2(const uint8_t* p, uint8_t* out) {
  // Bit sets by high and by low nibble: a character is valid when its two sets do not meet.
  const __m256i lut_lo = _mm256_setr_epi8(
      0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
      0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
  const __m256i lut_hi = _mm256_setr_epi8(
      0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
      0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  // What to add to a character to get its 6 bits, by high nibble ('/' moved to index 1).
  const __m256i lut_roll = _mm256_setr_epi8(
      0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i mask_2f = _mm256_set1_epi8(0x2F);
  __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(in, 4), mask_2f);
  __m256i lo_nibbles = _mm256_and_si256(in, mask_2f);
  __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
  __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
  if (!_mm256_testz_si256(lo, hi)) return false;
  __m256i eq_2f = _mm256_cmpeq_epi8(in, mask_2f);
  __m256i bits = _mm256_add_epi8(in, _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles)));
  // 00aaaaaa 00bbbbbb 00cccccc 00dddddd -> aaaaaabb bbbbcccc ccdddddd, 12 bytes per lane.
  __m256i pairs = _mm256_maddubs_epi16(bits, _mm256_set1_epi32(0x01400140));
  __m256i words = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
  __m256i packed = _mm256_shuffle_epi8(words, _mm256_setr_epi8(
      2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
      2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
  __m256i joined = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), joined);
  return true;
}

// Blocks of 32 characters while they last, then one block that ends on the last whole quantum
// (overlapping bytes already written with the same values), then the scalar rest. AVX2 here too,
// so that decode_block_avx2 is inlined and its tables are loaded once per line, not per block.
__attribute__((target("avx2"))) uint8_t* decode_base64_avx2(const uint8_t* p, const uint8_t* end, uint8_t* out) {
  const uint8_t* start = p;
  uint8_t* out_start = out;
  while (end - p >= 32 && decode_block_avx2(p, out)) {
    p += 32;
    out += 24;
  }
  // (A block that failed leaves more than 32 characters: the scalar code finds what is wrong.)
  const uint8_t* quanta_end = p + (end - p) / 4 * 4;
  if (end - p < 32 && quanta_end > p && quanta_end - start >= 32) {
    const uint8_t* block = quanta_end - 32;
    if (decode_block_avx2(block, out_start + (block - start) / 4 * 3)) {
      out += (quanta_end - p) / 4 * 3;
      p = quanta_end;
    }
  }
  return decode_base64_scalar(p, end, out);
}

#endif

}  // namespace

uint8_t* unescape_json(const uint8_t* p, const uint8_t* limit, uint8_t* out, const uint8_t** quote) {
  for (;;) {
    unsigned n = copy_plain16(p, out);
    if (p + n >= limit) {
      *quote = limit;
      return out + (limit - p);
    }
    p += n;
    out += n;
    if (n == 16) continue;
    if (*p == '"') {
      *quote = p;
      return out;
    }
    out = unescape_one(&p, limit, out);
    if (!out) return nullptr;
  }
}

uint8_t* decode_base64(const uint8_t* p, const uint8_t* end, uint8_t* out) {
  // Padding: one or two '=' ending a whole number of quanta.
  if ((end - p) % 4 == 0 && end - p >= 4 && end[-1] == '=') end -= end[-2] == '=' ? 2 : 1;
#if defined(__x86_64__)
  if (has_avx2()) return decode_base64_avx2(p, end, out);
#endif
  return decode_base64_scalar(p, end, out);
}

}  // namespace berth
