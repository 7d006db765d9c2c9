// Clients: non-blocking line I/O with bounded buffers (SIGPIPE is ignored, so a vanished
// peer shows up as EPIPE and the client is dropped).
#include "monitor/clients.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace berth {

void Clients::add(int fd, const std::string& already_read) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  clients_.push_back(Client{fd, already_read, "", false});
}

void Clients::on_readable(Client& c, const Handler& handler) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      drop(c);  // EOF or error: the client is forgotten
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  size_t nl;
  while (!c.dead && (nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    send(c, handler(line));
  }
  if (c.in.size() > kMaxLine) drop(c);
}

void Clients::on_writable(Client& c) {
  while (!c.dead && !c.out.empty()) {
    ssize_t n = write(c.fd, c.out.data(), c.out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
      drop(c);
      return;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }
}

void Clients::send(Client& c, const std::string& line) {
  if (c.dead) return;
  if (c.out.size() + line.size() > kMaxPending) {
    drop(c);  // never block on a client, never grow without bound
    return;
  }
  c.out += line;
  on_writable(c);
}

void Clients::broadcast(const std::string& line) {
  for (Client& c : clients_) send(c, line);
}

void Clients::drop(Client& c) {
  if (c.dead) return;
  close(c.fd);
  c.dead = true;
}

void Clients::sweep() {
  clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const Client& c) { return c.dead; }),
                 clients_.end());
}

void Clients::flush_all(int timeout_ms) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    sweep();
    std::vector<pollfd> fds;
    for (Client& c : clients_)
      if (!c.out.empty()) fds.push_back({c.fd, POLLOUT, 0});
    if (fds.empty()) return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left <= 0 || poll(fds.data(), fds.size(), static_cast<int>(left)) < 0) return;
    for (Client& c : clients_)
      if (!c.out.empty()) on_writable(c);
  }
}

}  // namespace berth
