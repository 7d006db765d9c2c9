// js_scan_log_runs: the per-line work of an attach catch-up (readLogRuns in src/io/logs.ts). Finds
// our monitor's json-file lines in a chunk, filters them by seq and stream, and decodes the bytes
// of the ones taken into runs in one output buffer. Anything unexpected goes back to JS.
#include <string.h>

#include <cmath>
#include <vector>

#include "js/entry_points.h"
#include "js/errors.h"
#include "js/log_decode.h"

namespace berth {

namespace {

// The keys of a line, in the order native/src/monitor/log_writer.cc writes them:
// {"log":"<text>","bin":"<base64>"?,"stream":"stdout|stderr","time":"<text>","seq":<N>}
constexpr char kLogKey[] = "{\"log\":\"";
constexpr char kBinKey[] = "\",\"bin\":\"";
constexpr char kStreamKey[] = ",\"stream\":\"";
constexpr char kTimeKey[] = "\",\"time\":\"";
constexpr char kSeqKey[] = "\",\"seq\":";
constexpr size_t kLogLen = sizeof kLogKey - 1, kBinLen = sizeof kBinKey - 1;
constexpr size_t kStreamLen = sizeof kStreamKey - 1, kTimeLen = sizeof kTimeKey - 1;
constexpr size_t kSeqLen = sizeof kSeqKey - 1;
// More digits could pass 2^53, where a JS number stops being exact: JSON.parse takes those.
constexpr int kMaxSeqDigits = 15;
// Room the decoders may write past a line's bytes (16 for text, 8 for base64).
constexpr size_t kSlackBytes = 64;

template <size_t N>
bool key_at(const uint8_t* p, const char (&key)[N]) {
  return memcmp(p, key, N - 1) == 0;
}

enum Stream { kStdout = 1, kStderr = 2 };

// Where a line's parts are.
struct LineShape {
  const uint8_t* data;   // the content of the "log" string
  const uint8_t* close;  // the quote before ,"stream" (ending "log", or "bin" when there is one)
  Stream stream;
  uint64_t seq;
};

// Reads the line [s, e) from its end, as scanLine in src/io/log-line.ts does. Inside a JSON
// string every quote is escaped, so the key markers cannot occur in "log" or "time". false for
// any other shape: another writer, a torn line, a seq too large.
bool scan_shape(const uint8_t* s, const uint8_t* e, LineShape* shape) {
  // {"log":"","stream":"stdout","time":"","seq":0}
  constexpr size_t kShortest = kLogLen + 1 + kStreamLen + 6 + kTimeLen + kSeqLen + 2;
  if (static_cast<size_t>(e - s) < kShortest || e[-1] != '}' || !key_at(s, kLogKey)) return false;
  const uint8_t* i = e - 2;
  while (*i >= '0' && *i <= '9') i--;  // the line starts with "{", so this stops inside it
  if (i == e - 2 || e - 2 - i > kMaxSeqDigits) return false;
  uint64_t seq = 0;
  for (const uint8_t* d = i + 1; d < e - 1; d++) seq = seq * 10 + static_cast<uint64_t>(*d - '0');
  const uint8_t* time_end = i + 1 - kSeqLen;  // the quote closing "time"
  const uint8_t* data = s + kLogLen;
  if (time_end <= data || !key_at(time_end, kSeqKey)) return false;
  const void* found = memrchr(data, '"', static_cast<size_t>(time_end - data));
  if (!found) return false;
  // The quote opening the time ends ","time":"; before that come the stream, its key and the
  // quote closing "log" (or "bin").
  const uint8_t* time_quote = static_cast<const uint8_t*>(found);
  constexpr size_t kCloseToTimeQuote = 1 + kStreamLen + 6 + kTimeLen - 1;
  if (static_cast<size_t>(time_quote - data) < kCloseToTimeQuote) return false;
  const uint8_t* stream_at = time_quote + 1 - kTimeLen - 6;
  if (!key_at(stream_at + 6, kTimeKey) || !key_at(stream_at - kStreamLen, kStreamKey)) return false;
  if (memcmp(stream_at, "stdout", 6) == 0) {
    shape->stream = kStdout;
  } else if (memcmp(stream_at, "stderr", 6) == 0) {
    shape->stream = kStderr;
  } else {
    return false;
  }
  shape->close = stream_at - kStreamLen - 1;
  if (*shape->close != '"') return false;
  shape->data = data;
  shape->seq = seq;
  return true;
}

// The exact bytes of a line, at out: "log" unescaped, or "bin" decoded when there is one (the
// "log" string then ends before close). nullptr if either is malformed. Needs out to have room
// for close - data + kSlackBytes.
uint8_t* decode_line(const LineShape& shape, uint8_t* out) {
  const uint8_t* quote;
  uint8_t* end = unescape_json(shape.data, shape.close, out, &quote);
  if (!end || quote == shape.close) return end;
  if (shape.close - quote < static_cast<ptrdiff_t>(kBinLen) || !key_at(quote, kBinKey)) return nullptr;
  return decode_base64(quote + kBinLen, shape.close, out);
}

enum class Stop { kEnd, kBefore, kFull, kGap, kFallback };

struct Run {
  Stream stream;
  size_t start, end;  // in out
};

struct ScanRequest {
  const uint8_t* chunk;
  size_t chunk_len, from;
  uint8_t* out;
  size_t out_len, out_at;
  double last_seq, after_seq, before_seq;
  bool want_stdout, want_stderr;
  size_t max_run_bytes;
};

struct ScanResult {
  Stop stop = Stop::kEnd;
  size_t next = 0, out_at = 0;
  double last_seq = 0;
  std::vector<Run> runs;
  double expected = 0, found = 0;      // kGap
  size_t line_start = 0, line_end = 0;  // kFallback
  size_t need_bytes = 0;                // kFull
};

// The loop of readLogRuns over one chunk, in its order: skip seq <= afterSeq, stop at beforeSeq,
// count the seq (gap check), take the bytes if the stream is wanted. It returns at the end of the
// chunk and at every event JS must handle, with next where to go on.
ScanResult scan_lines(const ScanRequest& q) {
  ScanResult r;
  const uint8_t* p = q.chunk + q.from;
  const uint8_t* end = q.chunk + q.chunk_len;
  size_t at = q.out_at;
  double last = q.last_seq;
  Run run{kStdout, at, at};
  while (p < end) {
    const uint8_t* nl = static_cast<const uint8_t*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    const uint8_t* line_end = nl ? nl : end;
    const uint8_t* next = nl ? nl + 1 : end;
    if (line_end == p) {
      p = next;
      continue;
    }
    LineShape shape;
    if (!scan_shape(p, line_end, &shape)) {
      r.stop = Stop::kFallback;
      r.line_start = static_cast<size_t>(p - q.chunk);
      r.line_end = static_cast<size_t>(line_end - q.chunk);
      p = next;
      break;
    }
    double seq = static_cast<double>(shape.seq);
    if (seq <= q.after_seq) {
      p = next;
      continue;
    }
    if (seq >= q.before_seq) {
      r.stop = Stop::kBefore;
      break;
    }
    if (shape.stream == kStdout ? q.want_stdout : q.want_stderr) {
      size_t need = static_cast<size_t>(shape.close - shape.data) + kSlackBytes;
      if (q.out_len - at < need) {
        r.stop = Stop::kFull;
        r.need_bytes = need;
        break;
      }
      uint8_t* bytes_end = decode_line(shape, q.out + at);
      if (!bytes_end) {
        r.stop = Stop::kFallback;
        r.line_start = static_cast<size_t>(p - q.chunk);
        r.line_end = static_cast<size_t>(line_end - q.chunk);
        p = next;
        break;
      }
      size_t n = static_cast<size_t>(bytes_end - (q.out + at));
      if (n > 0) {
        // A run is one stream's entries in a row, at most max_run_bytes (unless one entry is more).
        if (run.end > run.start && (run.stream != shape.stream || run.end + n - run.start > q.max_run_bytes)) {
          r.runs.push_back(run);
          run.start = at;
        }
        run.stream = shape.stream;
        at += n;
        run.end = at;
      }
    }
    p = next;
    double expected = last + 1;
    last = seq;
    if (seq != expected) {
      r.stop = Stop::kGap;
      r.expected = expected;
      r.found = seq;
      break;
    }
  }
  if (run.end > run.start) r.runs.push_back(run);
  r.next = static_cast<size_t>(p - q.chunk);
  r.out_at = at;
  r.last_seq = last;
  return r;
}

// Argument readers for the request object; a wrong type is a TypeError with the usage line.
const uint8_t* get_bytes(const Napi::Object& o, const char* key, size_t* len, const std::string& usage) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_usage(o.Env(), usage, std::string(key) + " must be a Buffer or Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *len = a.ElementLength();
  return a.Data();
}

double get_number(const Napi::Object& o, const char* key, const std::string& usage) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_usage(o.Env(), usage, std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) throw_usage(o.Env(), usage, std::string(key) + " must not be NaN");
  return d;
}

size_t get_offset(const Napi::Object& o, const char* key, size_t limit, const std::string& usage) {
  double d = get_number(o, key, usage);
  if (d < 0 || d > static_cast<double>(limit) || std::floor(d) != d)
    throw_usage(o.Env(), usage, std::string(key) + " must be an integer in [0, " + std::to_string(limit) + "]");
  return static_cast<size_t>(d);
}

bool get_bool(const Napi::Object& o, const char* key, const std::string& usage) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throw_usage(o.Env(), usage, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

const char* stop_name(Stop stop) {
  switch (stop) {
    case Stop::kEnd: return "end";
    case Stop::kBefore: return "before";
    case Stop::kFull: return "full";
    case Stop::kGap: return "gap";
    case Stop::kFallback: return "fallback";
  }
  return "end";
}

}  // namespace

Napi::Value js_scan_log_runs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage =
      "scanLogRuns({chunk, from, out, outAt, lastSeq, afterSeq, beforeSeq, stdout, stderr, maxRunBytes})"
      " -> {stop, next, outAt, lastSeq, runs, ...}";
  if (info.Length() < 1 || !info[0].IsObject()) throw_usage(env, usage, "a request object is required");
  Napi::Object o = info[0].As<Napi::Object>();
  ScanRequest q;
  q.chunk = get_bytes(o, "chunk", &q.chunk_len, usage);
  q.out = const_cast<uint8_t*>(get_bytes(o, "out", &q.out_len, usage));
  // Decoding in place would overwrite lines not read yet.
  if (q.out < q.chunk + q.chunk_len && q.chunk < q.out + q.out_len)
    throw_usage(env, usage, "out must not overlap chunk");
  q.from = get_offset(o, "from", q.chunk_len, usage);
  q.out_at = get_offset(o, "outAt", q.out_len, usage);
  q.last_seq = get_number(o, "lastSeq", usage);
  q.after_seq = get_number(o, "afterSeq", usage);
  q.before_seq = get_number(o, "beforeSeq", usage);
  q.want_stdout = get_bool(o, "stdout", usage);
  q.want_stderr = get_bool(o, "stderr", usage);
  q.max_run_bytes = get_offset(o, "maxRunBytes", UINT32_MAX, usage);

  ScanResult r = scan_lines(q);

  Napi::Object result = Napi::Object::New(env);
  result.Set("stop", Napi::String::New(env, stop_name(r.stop)));
  result.Set("next", Napi::Number::New(env, static_cast<double>(r.next)));
  result.Set("outAt", Napi::Number::New(env, static_cast<double>(r.out_at)));
  result.Set("lastSeq", Napi::Number::New(env, r.last_seq));
  // One typed array for all runs (a JS array costs a call per number): stream (1 stdout, 2 stderr),
  // start and end for each.
  Napi::Float64Array runs = Napi::Float64Array::New(env, r.runs.size() * 3);
  double* run = runs.Data();
  for (const Run& each : r.runs) {
    *run++ = each.stream;
    *run++ = static_cast<double>(each.start);
    *run++ = static_cast<double>(each.end);
  }
  result.Set("runs", runs);
  if (r.stop == Stop::kGap) {
    result.Set("expected", Napi::Number::New(env, r.expected));
    result.Set("found", Napi::Number::New(env, r.found));
  } else if (r.stop == Stop::kFallback) {
    result.Set("lineStart", Napi::Number::New(env, static_cast<double>(r.line_start)));
    result.Set("lineEnd", Napi::Number::New(env, static_cast<double>(r.line_end)));
  } else if (r.stop == Stop::kFull) {
    result.Set("needBytes", Napi::Number::New(env, static_cast<double>(r.need_bytes)));
  }
  return result;
}

}  // namespace berth
