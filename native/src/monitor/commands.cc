// What clients ask for: JSON-line commands (go, kill, resize, close-stdin, attach, exec) and,
// after attach/exec, the binary frames stdin, close-stdin, resize and signal.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/json.h"
#include "monitor/loop.h"

namespace berth {

namespace {

int parse_signal(const std::string& word) {
  static const struct { const char* name; int sig; } kNames[] = {
      {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP},
      {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}};
  if (!word.empty() && word.find_first_not_of("0123456789") == std::string::npos && word.size() < 4) {
    int n = atoi(word.c_str());
    return n <= SIGRTMAX ? n : -1;
  }
  std::string w = word.compare(0, 3, "SIG") == 0 ? word.substr(3) : word;
  for (const auto& k : kNames)
    if (w == k.name) return k.sig;
  return -1;
}

const std::string kOk = "{\"type\":\"ok\"}\n";

// Signals init; our own child, so until we reap it its pid cannot be reused.
std::string signal_init(Loop& loop, int sig) {
  if (loop.reaped) return error_reply("kill: " + std::string(strerror(ESRCH)), ESRCH);
  if (kill(loop.l->init, sig) != 0) return error_reply("kill: " + std::string(strerror(errno)), errno);
  return kOk;
}

std::string resize(int master, unsigned rows, unsigned cols) {
  if (master < 0) return error_reply("resize: no tty");
  if (rows < 1 || rows > 65535 || cols < 1 || cols > 65535)
    return error_reply("resize: rows and cols must be in [1, 65535]");
  if (int err = set_winsize(master, static_cast<uint16_t>(rows), static_cast<uint16_t>(cols)))
    return error_reply("resize: " + std::string(strerror(err)), err);
  return kOk;
}

std::string close_stdin(InputSink& sink, bool exists) {
  if (!exists) return error_reply("close-stdin: no stdin");
  sink.close_input();  // already closed: nothing left to do, still ok
  return kOk;
}

std::string attach(Loop& loop, Client& c, const std::string& arg) {
  bool want[4] = {false, true, true, false};  // stdin, stdout, stderr, runs
  if (!arg.empty()) {
    json::Value v;
    std::string why;
    if (!json::parse(arg, &v, &why) || v.kind != json::Value::Kind::Object)
      return error_reply("attach: expected {\"stdin\":bool,\"stdout\":bool,\"stderr\":bool}");
    const char* keys[4] = {"stdin", "stdout", "stderr", "runs"};
    for (int i = 0; i < 4; i++)
      if (const json::Value* b = v.get(keys[i]); b && b->kind == json::Value::Kind::Bool) want[i] = b->boolean;
  }
  if (loop.reaped) {
    // Nothing more will come: the log holds everything; the answer is the exit itself.
    c.closing = true;
    return exit_json(loop.exit_code, loop.exit_signal);
  }
  if (want[0] && !loop.l->spec->open_stdin) return error_reply("attach: stdin requested but openStdin is false");
  end_run(loop);
  loop.clients.make_stream(c, ClientMode::kAttach);
  c.want_stdin = want[0];
  c.want_stdout = want[1];
  c.want_stderr = want[2];
  c.runs = want[3];
  return "{\"type\":\"attached\",\"nextSeq\":" + std::to_string(loop.log.next_seq()) + "}\n";
}

uint32_t be32(const char* p) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

}  // namespace

std::string handle_line(Loop& loop, Client& c, const std::string& line) {
  size_t sp = line.find(' ');
  std::string cmd = line.substr(0, sp);
  std::string arg = sp == std::string::npos ? "" : line.substr(sp + 1);
  if (line == "go") return kOk;  // already released; harmless to repeat
  if (line == "state") {
    return "{\"type\":\"state\",\"pid\":" + std::to_string(loop.l->init) + ",\"monitorPid\":" + std::to_string(getpid()) +
           ",\"startedAt\":\"" + loop.l->started_at + "\"}\n";
  }
  if (cmd == "kill") {
    int sig = parse_signal(arg);
    if (sig < 0) return error_reply("kill: bad signal '" + arg + "'");
    return signal_init(loop, sig);
  }
  if (cmd == "resize") {
    unsigned rows = 0, cols = 0;
    char extra;
    if (sscanf(arg.c_str(), "%u %u %c", &rows, &cols, &extra) != 2) return error_reply("resize: expected <rows> <cols>");
    return resize(loop.l->master, rows, cols);
  }
  if (line == "close-stdin") return close_stdin(loop.stdin_sink, loop.l->spec->open_stdin);
  if (cmd == "attach") return attach(loop, c, arg);
  if (cmd == "exec") return start_exec(loop, c, arg);
  return error_reply("unknown command: " + line);
}

void handle_frame(Loop& loop, Client& c, uint8_t type, const char* data, size_t len, bool first) {
  bool is_exec = c.mode == ClientMode::kExec;
  ExecSession* s = c.exec;
  if (is_exec && !s) return;  // the process is gone; its exit frame is on the way
  InputSink& sink = is_exec ? s->sink : loop.stdin_sink;
  bool has_stdin = is_exec ? s->has_stdin : c.want_stdin;
  std::string reply;
  switch (type) {
    case kFrameStdin:
      if (!has_stdin || !sink.open()) {
        // One answer per frame, not per piece of it.
        if (first) reply = error_reply(has_stdin ? "stdin: closed" : "stdin: not attached");
        break;
      }
      sink.push(data, len);
      break;
    case kFrameCloseStdin:
      reply = close_stdin(sink, has_stdin);
      break;
    case kFrameResize:
      reply = len != 4 ? error_reply("resize: payload must be 4 bytes")
                       : resize(is_exec ? s->master : loop.l->master, be32(data) >> 16, be32(data) & 0xffff);
      break;
    case kFrameSignal: {
      if (len != 4) {
        reply = error_reply("signal: payload must be 4 bytes");
        break;
      }
      int sig = static_cast<int>(be32(data));
      if (!is_exec) {
        reply = signal_init(loop, sig);
      } else if (s->reaped) {
        reply = error_reply("kill: " + std::string(strerror(ESRCH)), ESRCH);
      } else if (kill(s->pid, sig) != 0) {
        reply = error_reply("kill: " + std::string(strerror(errno)), errno);
      }
      break;
    }
    default:
      reply = error_reply("unknown frame type " + std::to_string(type));
  }
  // Only failures are answered: a client streaming stdin must not get a reply per frame.
  if (reply.empty() || reply == kOk) return;
  reply.pop_back();  // the frame carries the JSON without the line's "\n"
  loop.clients.send_frame(c, kFrameReply, "", reply.data(), reply.size());
}

bool client_can_read(Loop& loop, const Client& c) {
  if (c.mode == ClientMode::kAttach && c.want_stdin) return !loop.stdin_sink.full();
  if (c.mode == ClientMode::kExec && c.exec) return !c.exec->sink.full();
  return true;
}

}  // namespace berth
