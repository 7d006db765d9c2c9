// The monitor's steady state: one poll() over SIGCHLD (signalfd), monitor.sock, the clients,
// init's output and stdin, and the exec sessions; ends after init exits, with the exit file.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "monitor/exit_file.h"
#include "monitor/json_escape.h"
#include "monitor/loop.h"
#include "sys/errno_name.h"

namespace berth {

int ms_left(const struct timespec& since, int period_ms) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long gone = (now.tv_sec - since.tv_sec) * 1000 + (now.tv_nsec - since.tv_nsec) / 1000000;
  return gone >= period_ms ? 0 : static_cast<int>(period_ms - gone);
}

int drain_left_ms(const struct timespec& since) { return ms_left(since, kDrainMs); }

std::string error_reply(const std::string& message, int err) {
  std::string out = "{\"type\":\"error\",\"message\":";
  append_json_string(&out, message);
  if (err) out += std::string(",\"code\":\"") + errno_name(err) + "\",\"errno\":" + std::to_string(err);
  return out + "}\n";
}

std::string exit_body(int exit_code, int signal) {
  return "{\"exitCode\":" + std::to_string(exit_code) + ",\"signal\":" + std::to_string(signal) + "}";
}

std::string exit_json(int exit_code, int signal, const std::string& finished_at) {
  std::string body = exit_body(exit_code, signal);
  if (!finished_at.empty()) body.insert(body.size() - 1, ",\"finishedAt\":\"" + finished_at + "\"");
  return "{\"type\":\"exit\"," + body.substr(1) + "\n";
}

namespace {

void reap(Loop& loop) {
  struct signalfd_siginfo si;
  while (read(loop.l->signal_fd, &si, sizeof si) > 0) {
  }
  // Subreaper: orphans re-parented to us are reaped here too, whatever their pid.
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid != loop.l->init) {
      exec_reaped(loop, pid, status);
      continue;
    }
    loop.reaped = true;
    clock_gettime(CLOCK_MONOTONIC, &loop.reaped_at);
    if (WIFSIGNALED(status)) {
      loop.exit_signal = WTERMSIG(status);
      loop.exit_code = 128 + loop.exit_signal;
    } else {
      loop.exit_code = WEXITSTATUS(status);
    }
  }
}

// Reads up to 1 MiB per round, so a container that writes without pause does not keep the
// clients waiting for their turn.
void read_output(Loop& loop, int* fd, Stream s) {
  static char buf[256 * 1024];
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; round++) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // EOF, or EIO from the master once init's side of the pty is closed
      loop.log.finish(s);
      close(*fd);
      *fd = -1;
      return;
    }
    loop.output_read += static_cast<size_t>(n);
    loop.log.feed(s, buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof buf) return;  // the pipe is empty now
    if (round == kRounds - 1) loop.output_waiting = true;
  }
}

bool wants(const Client& c, Stream s) {
  return !c.dead && c.mode == ClientMode::kAttach && (s == Stream::kStdout ? c.want_stdout : c.want_stderr);
}

// Every log entry goes on to the attach clients that asked for its stream: as its own frame, or
// joined with its neighbours into a run. Both are only queued here; deliver() sends them, after
// the log writer has written the lines.
void on_entry(Loop& loop, const Entry& e) {
  Run& r = loop.run;
  if (r.count > 0 && (r.stream != e.stream || r.bytes.size() + e.len > Run::kMaxRunBytes)) end_run(loop);
  if (r.count == 0) {
    r.stream = e.stream;
    r.first_seq = e.seq;
  }
  r.count++;
  r.last_time_ns = e.time_ns;
  r.bytes.append(e.data, e.len);
  std::string head;
  uint8_t type = e.stream == Stream::kStdout ? kFrameStdout : kFrameStderr;
  for (Client& c : loop.clients.all()) {
    if (c.runs || !wants(c, e.stream)) continue;
    if (head.empty()) head = entry_head(e.seq, e.time_ns);
    loop.clients.send_frame(c, type, head, e.data, e.len);
  }
}

void accept_clients(Loop& loop) {
  for (;;) {
    int fd = accept4(loop.l->listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or a transient error: the listener stays up
    loop.clients.add(fd);
  }
}

// An attach that berthd sent between "created" and "go" (a run that attaches as it starts) is answered
// before init runs: berthd has the answer by the time the start is done, instead of one trip to us after
// it, and nothing init writes can come before it. Anything else a client sent waits in its buffer until
// init runs (drain_early_clients).
void answer_early_attaches(Loop& loop) {
  accept_clients(loop);
  for (Client& c : loop.clients.all()) {
    if (!loop.clients.read_available(c)) continue;
    if (c.in.rfind("attach ", 0) == 0 || c.in.rfind("attach\n", 0) == 0) loop.clients.process(c, loop.handlers);
  }
  deliver(loop);
}

// Once init runs: whatever the clients let in early sent besides an attach.
void drain_early_clients(Loop& loop) {
  for (Client& c : loop.clients.all())
    if (!c.in.empty()) loop.clients.process(c, loop.handlers);
}

// How long the output pipes rest after a round that emptied them: 1 MiB of pipe fills in about
// 1 ms at 1 GiB/s (bench/README.md, "The fourth round", has what it bought). A round that stopped
// at its cap leaves a full pipe and a writer blocked on it: resting then only stalls both (ninth round).
constexpr int kOutputRestMs = 1;

int min_timeout(int a, int b) { return a < 0 ? b : b < 0 ? a : (a < b ? a : b); }

// How long an attach client may hold the output pipes back while it is more than half its bound
// behind. berthd that falls behind a fast container is dropped at the bound and catches up from the
// log, at twice the CPU of reading the socket: a few milliseconds of holding back let it catch up
// live. A client stuck for longer is dropped as before, and the container goes on (ninth round).
constexpr int kHoldBackMs = 50;

// Milliseconds the pipes are still held back for a client far behind; 0: not held.
int held_back_ms(Loop& loop) {
  size_t behind = 0;
  for (const Client& c : loop.clients.all())
    if (!c.dead && c.mode == ClientMode::kAttach && c.pending() > behind) behind = c.pending();
  if (behind <= Clients::kMaxFramesPending / 2) {
    loop.client_behind = false;
    return 0;
  }
  if (!loop.client_behind) {
    loop.client_behind = true;
    clock_gettime(CLOCK_MONOTONIC, &loop.client_behind_since);
  }
  return ms_left(loop.client_behind_since, kHoldBackMs);
}

// One round: builds the poll set with a handler per slot, waits, dispatches.
void poll_once(Loop& loop) {
  Launched* l = loop.l;
  int stale_ms = loop.log.flush_stale();
  deliver(loop);
  std::vector<pollfd> fds;
  std::vector<std::function<void(short)>> fns;
  auto add = [&](int fd, short ev, std::function<void(short)> fn) {
    fds.push_back({fd, ev, 0});
    fns.push_back(std::move(fn));
  };
  add(l->signal_fd, POLLIN, [&](short) { reap(loop); });
  add(l->listener, POLLIN, [&](short) { accept_clients(loop); });
  // Output that keeps coming is read in big pieces: after a round that read some and emptied the
  // pipes, they rest for a moment (they hold 1 MiB) instead of waking us, and the writer's CPU, at
  // every write. Not with a tty (typed characters echo back at once), nor once init is gone (its EOF
  // is the exit).
  const bool rests = loop.output_read > 0 && !loop.output_waiting && !l->spec->tty && !loop.reaped;
  int rest_ms = rests ? ms_left(loop.output_read_at, kOutputRestMs) : 0;
  // Until then the client's socket (in the set below, with output queued) wakes us as it drains.
  const int held_ms = loop.reaped ? 0 : held_back_ms(loop);
  if (held_ms > rest_ms) rest_ms = held_ms;
  if (rest_ms == 0) {
    if (l->stdout_fd >= 0) add(l->stdout_fd, POLLIN, [&](short) { read_output(loop, &l->stdout_fd, Stream::kStdout); });
    if (l->stderr_fd >= 0) add(l->stderr_fd, POLLIN, [&](short) { read_output(loop, &l->stderr_fd, Stream::kStderr); });
  }
  if (loop.stdin_sink.wants_write()) add(loop.stdin_sink.fd(), POLLOUT, [&](short) { loop.stdin_sink.on_writable(); });
  for (ExecSession& s : loop.execs) {
    ExecSession* sp = &s;
    if (s.out_fd >= 0) add(s.out_fd, POLLIN, [&loop, sp](short) { read_exec_output(loop, *sp, &sp->out_fd, kFrameStdout); });
    if (s.err_fd >= 0) add(s.err_fd, POLLIN, [&loop, sp](short) { read_exec_output(loop, *sp, &sp->err_fd, kFrameStderr); });
    if (s.sink.wants_write()) add(s.sink.fd(), POLLOUT, [sp](short) { sp->sink.on_writable(); });
  }
  for (Client& c : loop.clients.all()) {
    // A client whose input target is full is not read: the socket fills and slows the writer.
    bool readable = !c.closing && client_can_read(loop, c);
    short ev = static_cast<short>((readable ? POLLIN : 0) | (c.pending() > 0 ? POLLOUT : 0));
    if (ev == 0) continue;  // looked at again once its stdin target drains
    Client* cp = &c;
    add(c.fd, ev, [&loop, cp, readable](short re) {
      if (re & (POLLOUT | POLLERR | POLLHUP)) loop.clients.on_writable(*cp);
      if (readable && (re & (POLLIN | POLLHUP | POLLERR))) loop.clients.on_readable(*cp, loop.handlers);
    });
  }
  int timeout = min_timeout(stale_ms, exec_timeout_ms(loop));
  if (loop.reaped) timeout = min_timeout(timeout, drain_left_ms(loop.reaped_at));
  if (rest_ms > 0) timeout = min_timeout(timeout, rest_ms);
  if (poll(fds.data(), fds.size(), timeout) < 0) return;  // EINTR: the next round rebuilds
  if (rest_ms == 0) loop.output_read = 0, loop.output_waiting = false;
  // Slots added by a handler (accept, exec) wait for the next round.
  for (size_t i = 0; i < fds.size(); i++)
    if (fds[i].revents) fns[i](fds[i].revents);
  if (rest_ms == 0 && loop.output_read > 0) clock_gettime(CLOCK_MONOTONIC, &loop.output_read_at);
  deliver(loop);
}

}  // namespace

void end_run(Loop& loop) {
  Run& r = loop.run;
  if (r.count == 0) return;
  // Head: BE first seq, BE time (of the last entry), BE entry count.
  std::string head = entry_head(r.first_seq, r.last_time_ns);
  for (int shift = 24; shift >= 0; shift -= 8) head.push_back(static_cast<char>((r.count >> shift) & 0xff));
  uint8_t type = r.stream == Stream::kStdout ? kFrameStdoutRun : kFrameStderrRun;
  for (Client& c : loop.clients.all())
    if (c.runs && wants(c, r.stream)) loop.clients.send_frame(c, type, head, r.bytes.data(), r.bytes.size());
  r.count = 0;
  r.bytes.clear();
}

void deliver(Loop& loop) {
  end_run(loop);
  loop.clients.flush();
}

int run_event_loop(Launched* l) {
  Loop loop(l, [&loop](const Entry& e) { on_entry(loop, e); });
  loop.handlers.line = [&loop](Client& c, const std::string& line) { return handle_line(loop, c, line); };
  loop.handlers.frame = [&loop](Client& c, uint8_t type, const char* d, size_t n, bool first) {
    handle_frame(loop, c, type, d, n, first);
  };
  loop.handlers.can_read = [&loop](const Client& c) { return client_can_read(loop, c); };
  loop.stdin_sink.reset(l->stdin_fd, l->spec->tty);
  answer_early_attaches(loop);
  if (!release_init(l)) return 1;
  drain_early_clients(loop);
  // Commands berthd sent right behind "go" are answered before anything else.
  loop.clients.process(loop.clients.add(kHandshakeFd, l->fd3_rest), loop.handlers);
  for (;;) {
    finish_execs(loop);
    bool pipes_open = l->stdout_fd >= 0 || l->stderr_fd >= 0;
    if (loop.reaped && ((!pipes_open && loop.execs.empty()) || drain_left_ms(loop.reaped_at) == 0)) break;
    loop.clients.sweep();
    poll_once(loop);
  }

  // Output first, then the durable record, then the news: a reader of `exit` finds the log complete.
  for (int* fd : {&l->stdout_fd, &l->stderr_fd}) {
    if (*fd >= 0) close(*fd);  // drain deadline passed: whatever still holds the pipe is ignored
    *fd = -1;
  }
  loop.log.finish(Stream::kStdout);
  loop.log.finish(Stream::kStderr);
  deliver(loop);
  // An auto-remove container's log and exit go with it: durability would buy nothing (durableExit).
  const bool durable = loop.l->spec->durable_exit;
  if (durable) loop.log.sync();
  const std::string finished_at = now_rfc3339_nano();
  write_exit_file(loop.l->spec->exit_dir, loop.exit_code, loop.exit_signal, finished_at, durable);
  // Exec sessions still draining end now (their processes died with init's pid namespace).
  for (ExecSession& s : loop.execs) {
    for (int* fd : {&s.out_fd, &s.err_fd}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
    if (!s.reaped) s.client_id = 0;  // no status to report
    s.reaped = true;
  }
  finish_execs(loop);
  std::string body = exit_body(loop.exit_code, loop.exit_signal);
  for (Client& c : loop.clients.all()) {
    if (c.mode == ClientMode::kAttach) {
      loop.clients.send_frame(c, kFrameExit, "", body.data(), body.size());
      loop.clients.close_after_flush(c);
    } else if (c.mode == ClientMode::kLines) {
      loop.clients.send(c, exit_json(loop.exit_code, loop.exit_signal, finished_at));
    }
  }
  unlink(kSocketName);
  close(l->listener);
  loop.clients.flush_all(1000);
  // The namespace's teardown, now that nobody waits for it.
  if (l->mnt_ns >= 0) close(l->mnt_ns);
  return 0;
}

}  // namespace berth
