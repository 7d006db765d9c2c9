// Clients: non-blocking line and frame I/O with bounded buffers (SIGPIPE is ignored, so a
// vanished peer shows up as EPIPE and the client is dropped).
#include "monitor/clients.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace berth {

Client& Clients::add(int fd, const std::string& already_read) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  clients_.emplace_back();
  Client& c = clients_.back();
  c.id = next_id_++;
  c.fd = fd;
  c.in = already_read;
  return c;
}

void Clients::make_stream(Client& c, ClientMode mode) {
  c.mode = mode;
  int size = kStreamSendBuffer;
  // FORCE passes net.core.wmem_max (root only); without it the kernel caps the size there. Either way
  // a smaller buffer only costs speed.
  if (setsockopt(c.fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

Client* Clients::find(uint64_t id) {
  for (Client& c : clients_)
    if (c.id == id && !c.dead) return &c;
  return nullptr;
}

void Clients::on_readable(Client& c, const ClientHandlers& h) {
  char buf[65536];
  while (!c.dead && !c.closing && h.can_read(c)) {
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      drop(c);  // EOF or error: the client is forgotten
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    process(c, h);
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
}

bool Clients::read_available(Client& c) {
  char buf[4096];
  while (!c.dead && c.in.size() <= kMaxLine) {
    ssize_t n = read(c.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    // EOF: what came before it is still handled; the event loop meets the EOF again and forgets c.
    if (n == 0) break;
    if (n < 0) {
      drop(c);
      return false;
    }
    c.in.append(buf, static_cast<size_t>(n));
  }
  return !c.dead;
}

void Clients::process(Client& c, const ClientHandlers& h) {
  size_t nl;
  while (!c.dead && c.mode == ClientMode::kLines && (nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    send(c, h.line(c, line));
  }
  if (c.dead) return;
  // attach/exec switch the mode; whatever followed their line is already frames.
  if (c.mode != ClientMode::kLines) parse_frames(c, h);
  else if (c.in.size() > kMaxLine) drop(c);
}

void Clients::parse_frames(Client& c, const ClientHandlers& h) {
  size_t pos = 0;
  while (!c.dead) {
    size_t avail = c.in.size() - pos;
    if (!c.in_frame) {
      if (avail < 5) break;
      const unsigned char* p = reinterpret_cast<const unsigned char*>(c.in.data() + pos);
      c.frame_type = p[0];
      c.frame_left = (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | p[4];
      pos += 5;
      c.in_frame = true;
      c.frame_started = false;
      // Only stdin streams through; a huge control frame is a broken client.
      if (c.frame_type != kFrameStdin && c.frame_left > kMaxControlFrame) {
        drop(c);
        return;
      }
      avail -= 5;
    }
    if (c.frame_type == kFrameStdin) {
      size_t n = avail < c.frame_left ? avail : c.frame_left;
      if (n == 0 && c.frame_left > 0) break;
      h.frame(c, c.frame_type, c.in.data() + pos, n, !c.frame_started);
      c.frame_started = true;
      pos += n;
      c.frame_left -= static_cast<uint32_t>(n);
    } else {
      if (avail < c.frame_left) break;
      h.frame(c, c.frame_type, c.in.data() + pos, c.frame_left, true);
      pos += c.frame_left;
      c.frame_left = 0;
    }
    if (c.frame_left == 0) c.in_frame = false;
  }
  if (!c.dead) c.in.erase(0, pos);
}

void Clients::on_writable(Client& c) {
  while (!c.dead && c.pending() > 0) {
    ssize_t n = write(c.fd, c.out.data() + c.out_at, c.pending());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {
      drop(c);
      return;
    }
    c.out_at += static_cast<size_t>(n);
  }
  // Written bytes are cut off the front only now and then: erasing per write is quadratic.
  if (c.out_at == c.out.size()) {
    c.out.clear();
    c.out_at = 0;
  } else if (c.out_at > (1 << 20) && c.out_at > c.out.size() / 2) {
    c.out.erase(0, c.out_at);
    c.out_at = 0;
  }
  if (!c.dead && c.closing && c.pending() == 0) drop(c);
}

bool Clients::queue(Client& c, const char* data, size_t len) {
  if (c.dead) return false;
  size_t limit = c.mode == ClientMode::kLines ? kMaxLinesPending : kMaxFramesPending;
  if (c.pending() + len > limit) {
    drop(c);  // never block on a client, never grow without bound
    return false;
  }
  c.out.append(data, len);
  return true;
}

void Clients::send(Client& c, const std::string& bytes) {
  if (queue(c, bytes.data(), bytes.size())) on_writable(c);
}

void Clients::send_frame(Client& c, uint8_t type, const std::string& head, const char* data, size_t len) {
  uint32_t n = static_cast<uint32_t>(head.size() + len);
  char header[5] = {static_cast<char>(type), static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
  if (c.dead || c.pending() + 5 + n > kMaxFramesPending) {
    drop(c);
    return;
  }
  queue(c, header, sizeof header) && queue(c, head.data(), head.size()) && queue(c, data, len);
}

void Clients::flush() {
  for (Client& c : clients_)
    if (!c.dead && c.pending() > 0) on_writable(c);
}

void Clients::close_after_flush(Client& c) {
  c.closing = true;
  on_writable(c);
}

void Clients::drop(Client& c) {
  if (c.dead) return;
  close(c.fd);
  c.dead = true;
}

void Clients::sweep() { clients_.remove_if([](const Client& c) { return c.dead; }); }

void Clients::flush_all(int timeout_ms) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    sweep();
    std::vector<pollfd> fds;
    for (Client& c : clients_)
      if (c.pending() > 0) fds.push_back({c.fd, POLLOUT, 0});
    if (fds.empty()) return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left <= 0 || poll(fds.data(), fds.size(), static_cast<int>(left)) < 0) return;
    for (Client& c : clients_)
      if (c.pending() > 0) on_writable(c);
  }
}

}  // namespace berth
