// Control clients of the monitor (fd 3 and monitor.sock connections): line-based commands in,
// JSON lines out, never blocking — a client that cannot keep up is dropped.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace berth {

struct Client {
  int fd;
  std::string in;   // partial command line
  std::string out;  // replies not yet written
  bool dead = false;
};

class Clients {
 public:
  static constexpr size_t kMaxLine = 4096;
  static constexpr size_t kMaxPending = 64 * 1024;

  // handler(client, line) returns the reply line (with "\n").
  using Handler = std::function<std::string(const std::string& line)>;

  void add(int fd, const std::string& already_read = "");
  std::vector<Client>& all() { return clients_; }
  // POLLIN: reads what is there and answers complete lines through handler.
  void on_readable(Client& c, const Handler& handler);
  // POLLOUT: writes what is queued.
  void on_writable(Client& c);
  void send(Client& c, const std::string& line);
  void broadcast(const std::string& line);
  // Closes and forgets clients marked dead.
  void sweep();
  // Gives queued replies up to timeout_ms to go out (used once, right before exit).
  void flush_all(int timeout_ms);

 private:
  void drop(Client& c);
  std::vector<Client> clients_;
};

}  // namespace berth
