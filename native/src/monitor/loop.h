// The event loop's shared state, and the pieces split out of event_loop.cc: control commands
// and client frames (commands.cc), and exec sessions (exec_session.cc).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <list>
#include <string>

#include "monitor/clients.h"
#include "monitor/input_sink.h"
#include "monitor/log_writer.h"
#include "monitor/monitor.h"

namespace berth {

// How long output may still arrive after a process exits. The kernel kills the rest of the pid
// namespace when init dies, so EOF is normally immediate; this only bounds a stuck drain.
constexpr int kDrainMs = 2000;

// One exec'd process and the client that started it.
struct ExecSession {
  uint64_t client_id = 0;  // 0 once the client is gone: output is then discarded
  pid_t pid = -1;
  int out_fd = -1;  // stdout pipe read end, or the pty master (a dup)
  int err_fd = -1;  // -1 with a tty
  int master = -1;  // for resize
  InputSink sink;
  bool has_stdin = false;
  bool reaped = false;
  int exit_code = 0, exit_signal = 0;
  struct timespec reaped_at = {};
};

// Consecutive log entries of one stream since the last delivery: one run frame for clients that
// take runs. Ends at a change of stream, at kMaxRunBytes, or when the loop round ends.
struct Run {
  static constexpr size_t kMaxRunBytes = 1 << 20;
  Stream stream = Stream::kStdout;
  uint64_t first_seq = 0, last_time_ns = 0;
  uint32_t count = 0;
  std::string bytes;
};

struct Loop {
  Loop(Launched* launched, LogWriter::EntrySink sink)
      : l(launched), log(launched->log_fd, launched->spec->log_path, log_spec(*launched->spec), std::move(sink)) {}
  // A terminal's output is interactive: typed characters echo back without a newline. A log that the exit
  // fsyncs is written behind as it grows; an auto-remove container's goes with it, unwritten.
  static LogSpec log_spec(const Spec& spec) {
    LogSpec s = spec.log;
    if (spec.tty) s.partial_ms = 0;
    s.write_behind = spec.durable_exit;
    return s;
  }
  Launched* l;
  Clients clients;
  LogWriter log;
  InputSink stdin_sink;
  std::list<ExecSession> execs;
  ClientHandlers handlers;
  Run run;
  // Output read in the last round that polled the pipes, and when (their rest counts from it; poll_once).
  size_t output_read = 0;
  struct timespec output_read_at = {};
  // The last read of a pipe stopped at its round's cap, not at an empty pipe: more is waiting, no rest.
  bool output_waiting = false;
  // Since when an attach client has been more than half its bound behind (held_back_ms); unset: none is.
  bool client_behind = false;
  struct timespec client_behind_since = {};
  bool reaped = false;
  int exit_code = 0, exit_signal = 0;
  struct timespec reaped_at = {};
};

// Milliseconds left of a period of period_ms that started at `since` (0 once it is over), and of the drain.
int ms_left(const struct timespec& since, int period_ms);
int drain_left_ms(const struct timespec& since);
std::string error_reply(const std::string& message, int err = 0);
// {"exitCode":N,"signal":S}: an exit frame's payload; exit_json is the JSON-lines message, with
// the exit file's finishedAt when it is the monitor's last word (berthd then need not read the file).
std::string exit_body(int exit_code, int signal);
std::string exit_json(int exit_code, int signal, const std::string& finished_at = "");
// A stdout/stderr frame's first 16 bytes: BE seq, BE time in ns.
std::string entry_head(uint64_t seq, uint64_t time_ns);
// Queues the open run for the clients that take runs (a client attaching now must not get it:
// its entries are already below the nextSeq it is told).
void end_run(Loop& loop);
// end_run, then writes what every client has queued.
void deliver(Loop& loop);

// commands.cc
std::string handle_line(Loop& loop, Client& c, const std::string& line);
void handle_frame(Loop& loop, Client& c, uint8_t type, const char* data, size_t len, bool first);
bool client_can_read(Loop& loop, const Client& c);

// exec_session.cc
// Starts an exec for client c; returns the exec-started or failed line.
std::string start_exec(Loop& loop, Client& c, const std::string& json);
// Reads an exec's output fd until EAGAIN; EOF closes it.
void read_exec_output(Loop& loop, ExecSession& s, int* fd, uint8_t frame_type);
// Records the status of a reaped exec'd process; false if pid is none of ours.
bool exec_reaped(Loop& loop, pid_t pid, int status);
// Sends exit frames for sessions whose process exited and whose output ended (or whose drain
// ran out), and forgets them.
void finish_execs(Loop& loop);
// Ms until the earliest exec drain deadline, or -1.
int exec_timeout_ms(const Loop& loop);

}  // namespace berth
