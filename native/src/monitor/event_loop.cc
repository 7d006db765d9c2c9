// The monitor's steady state: one poll() over SIGCHLD (signalfd), monitor.sock, the clients
// and init's two output pipes; ends after init exits, with the exit file and exit messages.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/clients.h"
#include "monitor/exit_file.h"
#include "monitor/json_escape.h"
#include "monitor/log_writer.h"
#include "monitor/monitor.h"
#include "sys/errno_name.h"

namespace berth {

namespace {

// How long output may still arrive after init exits. The kernel kills the rest of the pid
// namespace when init dies, so EOF is normally immediate; this only bounds a stuck drain.
constexpr int kDrainMs = 2000;

struct Loop {
  Launched* l;
  Clients clients;
  LogWriter log;
  bool reaped = false;
  int exit_code = 0, exit_signal = 0;
  struct timespec reaped_at = {};
};

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

std::string error_reply(const std::string& message, int err = 0) {
  std::string out = "{\"type\":\"error\",\"message\":";
  append_json_string(&out, message);
  if (err) out += std::string(",\"code\":\"") + errno_name(err) + "\",\"errno\":" + std::to_string(err);
  return out + "}\n";
}

std::string handle_command(Loop& loop, const std::string& line) {
  if (line == "go") return "{\"type\":\"ok\"}\n";  // already released; harmless to repeat
  if (line.compare(0, 5, "kill ") == 0) {
    int sig = parse_signal(line.substr(5));
    if (sig < 0) return error_reply("kill: bad signal '" + line.substr(5) + "'");
    // Our own child: until we reap it its pid cannot be reused, so this hits the right process.
    if (loop.reaped) return error_reply("kill: " + std::string(strerror(ESRCH)), ESRCH);
    if (kill(loop.l->init, sig) != 0) return error_reply("kill: " + std::string(strerror(errno)), errno);
    return "{\"type\":\"ok\"}\n";
  }
  return error_reply("unknown command: " + line);
}

void reap(Loop& loop) {
  struct signalfd_siginfo si;
  while (read(loop.l->signal_fd, &si, sizeof si) > 0) {
  }
  // Subreaper: orphans re-parented to us are reaped here too, whatever their pid.
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid != loop.l->init) continue;
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

void read_output(Loop& loop, int* fd, Stream s) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      loop.log.finish(s);
      close(*fd);
      *fd = -1;
      return;
    }
    loop.log.feed(s, buf, static_cast<size_t>(n));
  }
}

void accept_clients(Loop& loop) {
  for (;;) {
    int fd = accept4(loop.l->listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or a transient error: the listener stays up
    loop.clients.add(fd);
  }
}

int drain_left_ms(const Loop& loop) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long gone = (now.tv_sec - loop.reaped_at.tv_sec) * 1000 + (now.tv_nsec - loop.reaped_at.tv_nsec) / 1000000;
  return gone >= kDrainMs ? 0 : static_cast<int>(kDrainMs - gone);
}

}  // namespace

int run_event_loop(Launched* l) {
  Loop loop{l, Clients(), LogWriter(l->log_fd)};
  loop.clients.add(kHandshakeFd, l->fd3_rest);
  auto handler = [&loop](const std::string& line) { return handle_command(loop, line); };
  // Commands berthd sent right behind "go" are answered before anything else.
  if (loop.clients.all()[0].in.find('\n') != std::string::npos) {
    Client& c = loop.clients.all()[0];
    std::string pending = c.in;
    c.in.clear();
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
      loop.clients.send(c, handler(pending.substr(0, nl)));
    c.in = pending;
  }
  for (;;) {
    bool pipes_open = l->stdout_fd >= 0 || l->stderr_fd >= 0;
    if (loop.reaped && (!pipes_open || drain_left_ms(loop) == 0)) break;
    loop.clients.sweep();
    std::vector<pollfd> fds = {{l->signal_fd, POLLIN, 0}, {l->listener, POLLIN, 0},
                               {l->stdout_fd, POLLIN, 0}, {l->stderr_fd, POLLIN, 0}};
    for (Client& c : loop.clients.all())
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
    int timeout = loop.reaped ? drain_left_ms(loop) : -1;
    if (poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) reap(loop);
    if (fds[1].revents & POLLIN) accept_clients(loop);
    // Poll slots of fd -1 report nothing, so a closed pipe is simply skipped.
    if (fds[2].revents) read_output(loop, &l->stdout_fd, Stream::kStdout);
    if (fds[3].revents) read_output(loop, &l->stderr_fd, Stream::kStderr);
    size_t n_clients = fds.size() - 4;  // accept_clients may have appended; those wait a round
    for (size_t i = 0; i < n_clients; i++) {
      Client& c = loop.clients.all()[i];
      short ev = fds[4 + i].revents;
      if (ev & POLLOUT) loop.clients.on_writable(c);
      if (ev & (POLLIN | POLLHUP | POLLERR)) loop.clients.on_readable(c, handler);
    }
  }

  // Output first, then the durable record, then the news: a reader of `exit` finds the log complete.
  for (int* fd : {&l->stdout_fd, &l->stderr_fd}) {
    if (*fd >= 0) close(*fd);  // drain deadline passed: whatever still holds the pipe is ignored
    *fd = -1;
  }
  loop.log.finish(Stream::kStdout);
  loop.log.finish(Stream::kStderr);
  loop.log.sync();
  write_exit_file(loop.exit_code, loop.exit_signal);
  loop.clients.broadcast("{\"type\":\"exit\",\"exitCode\":" + std::to_string(loop.exit_code) +
                         ",\"signal\":" + std::to_string(loop.exit_signal) + "}\n");
  unlink(kSocketName);
  close(l->listener);
  loop.clients.flush_all(1000);
  return 0;
}

}  // namespace berth
