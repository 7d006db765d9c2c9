// Control clients of the monitor (fd 3 and monitor.sock connections): JSON lines until an
// attach or exec switches them to binary frames; never blocking — a slow client is dropped.
#pragma once

#include <stdint.h>

#include <functional>
#include <list>
#include <string>

namespace berth {

// Frame types (native/README.md, "Binary frames").
enum FrameType : uint8_t {
  kFrameStdout = 1, kFrameStderr = 2, kFrameExit = 3, kFrameReply = 4, kFrameStdoutRun = 5, kFrameStderrRun = 6,
  kFrameStdin = 10, kFrameCloseStdin = 11, kFrameResize = 12, kFrameSignal = 13,
};

enum class ClientMode { kLines, kAttach, kExec };

struct ExecSession;

struct Client {
  uint64_t id = 0;
  int fd = -1;
  ClientMode mode = ClientMode::kLines;
  std::string in;   // partial command line or frame
  std::string out;  // bytes not yet written start at out_at
  size_t out_at = 0;
  size_t pending() const { return out.size() - out_at; }
  bool dead = false;
  bool closing = false;  // close as soon as out is written (after an exit frame)
  bool want_stdout = true, want_stderr = true, want_stdin = false;
  bool runs = false;  // output as run frames (several entries per frame)
  ExecSession* exec = nullptr;
  // Frame parser: a stdin frame's payload is passed on piece by piece as it arrives.
  bool in_frame = false;
  uint8_t frame_type = 0;
  uint32_t frame_left = 0;
  bool frame_started = false;
};

struct ClientHandlers {
  std::function<std::string(Client&, const std::string& line)> line;  // returns the reply
  // A frame, or (stdin) a piece of one; first is true for its first piece.
  std::function<void(Client&, uint8_t type, const char* data, size_t len, bool first)> frame;
  // False while the client's input target is full: it is then not read (backpressure).
  std::function<bool(const Client&)> can_read;
};

class Clients {
 public:
  static constexpr size_t kMaxLine = 4096;
  static constexpr size_t kMaxLinesPending = 64 * 1024;
  static constexpr size_t kMaxFramesPending = 16 << 20;
  static constexpr size_t kMaxControlFrame = 64 * 1024;
  // A stream's socket buffer: at the default 208 KiB, output at full speed stops the monitor every few
  // hundred KiB until berthd has read (bench/README.md, "The ninth round").
  static constexpr int kStreamSendBuffer = 4 << 20;

  Client& add(int fd, const std::string& already_read = "");
  // c is an output stream from now on (attach, exec): its socket may hold more (kStreamSendBuffer).
  void make_stream(Client& c, ClientMode mode);
  std::list<Client>& all() { return clients_; }
  Client* find(uint64_t id);
  // POLLIN: reads what is there (while can_read) and handles complete lines or frames.
  void on_readable(Client& c, const ClientHandlers& h);
  // Handles what is already buffered (bytes that came behind "go" or an attach line).
  void process(Client& c, const ClientHandlers& h);
  // Reads what is there into c.in, handling none of it; false when c is gone (a read error). An EOF
  // leaves c as it is: the event loop meets it again.
  bool read_available(Client& c);
  // POLLOUT: writes what is queued.
  void on_writable(Client& c);
  // Queues and writes what it can now.
  void send(Client& c, const std::string& bytes);
  // Queues type, 4-byte BE length, head, data; written by flush() (once per loop round).
  void send_frame(Client& c, uint8_t type, const std::string& head, const char* data, size_t len);
  // Writes what every client has queued, as far as its socket takes it.
  void flush();
  void close_after_flush(Client& c);
  void drop(Client& c);
  // Closes and forgets clients marked dead.
  void sweep();
  // Gives queued bytes up to timeout_ms to go out (used once, right before exit).
  void flush_all(int timeout_ms);

 private:
  void parse_frames(Client& c, const ClientHandlers& h);
  // Appends to c's queue; drops c (false) if that would pass its bound.
  bool queue(Client& c, const char* data, size_t len);
  std::list<Client> clients_;  // a list: Client& stays valid while others come and go
  uint64_t next_id_ = 1;
};

}  // namespace berth
