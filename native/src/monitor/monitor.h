// The monitor's phases, in the order main() runs them: daemonize, launch (clone init and
// the created/go/started handshake on fd 3), then the event loop until init exits.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "monitor/plan_builder.h"
#include "monitor/spec.h"

namespace berth {

constexpr int kHandshakeFd = 3;
constexpr const char* kSocketName = "monitor.sock";

// What launch() hands to the event loop.
struct Launched {
  pid_t init = -1;
  int stdout_fd = -1;   // read ends of init's stdout/stderr pipes; with a tty, the master (a dup)
  int stderr_fd = -1;   // -1 with a tty
  int stdin_fd = -1;    // write end of init's stdin pipe, or a dup of the master; -1 without openStdin
  int master = -1;      // pty master kept for resize; -1 without a tty
  int pidfd = -1;       // init's pidfd: exec joins its namespaces through it
  int own_pidns = -1;   // the monitor's pid namespace, to return to after an exec's fork
  // A net namespace a standby made while it waited (make_fresh_netns): init's new one, so that the
  // ~0.4 ms of its making is not the start's. -1: clone makes one. Closed once init holds it.
  int fresh_netns = -1;
  const Spec* spec = nullptr;
  const SecurityPlan* security = nullptr;  // init's, applied again to every exec'd process; null: none
  int signal_fd = -1;   // signalfd for SIGCHLD
  int listener = -1;    // monitor.sock
  int log_fd = -1;
  std::string fd3_rest;  // bytes berthd sent after "go\n", still to be parsed as commands
  // Between launch() and release_init(): init waits for a byte on go_fd, and reports a failed step on
  // error_fd (EOF without a record: its exec succeeded); the names of its steps, by number.
  int go_fd = -1;
  int error_fd = -1;
  const std::vector<std::string>* step_names = nullptr;
  // Init's mount namespace, held so that its teardown is ours, after the exit is out (launch.cc).
  int mnt_ns = -1;
  // When init's exec succeeded (CLOCK_REALTIME), as "startedAt":"<sec>.<nsec>" in "started" and
  // "state": digits only, so an idle monitor never touches the time formatting's code pages.
  std::string started_at;
};

// A pty pair: master non-blocking, both CLOEXEC and O_NOCTTY, size set. Returns 0 or an errno.
int open_pty(uint16_t rows, uint16_t cols, int* master, int* slave);
int set_winsize(int fd, uint16_t rows, uint16_t cols);

// fork + exit of the parent, setsid, child subreaper, stdio to /dev/null, fds above 3 closed.
// detached: the zygote has forked us away from itself already; no fork of our own.
void daemonize(bool detached = false);
// The zygote's own detach: fork + exit of the parent, setsid, stdio to /dev/null, fds above 3
// closed, cwd /; not a subreaper.
void daemonize_zygote();
// berth-monitor <arg>, from after the arguments' check: arg is the container's directory or
// "--standby". detached: forked by the zygote, already away from it (daemonize skips its fork).
int monitor_main(const std::string& arg, bool detached);
// berth-monitor --zygote (zygote.cc): forks monitors on berthd's requests until fd 3 closes.
int run_zygote();
// A new, empty net namespace, made now and held by the returned fd (CLOEXEC); the monitor stays in its
// own. -1 when it cannot be made (clone then makes one). Exits if it cannot get back to its own.
int make_fresh_netns();
// {"type":"failed",...}\n for a step that failed with err; detail replaces strerror when set.
std::string failed_message(const std::string& step, int err, const std::string& detail = "");
// Blocking write of a whole line on fd 3 during the handshake; errors are ignored because
// berthd may already be gone and the container must still be handled.
void send_handshake(const std::string& line);
// Returns true once berthd said go and init waits for release_init(); false after reporting "failed".
bool launch(const Spec& spec, PlanStorage* st, Launched* out);
// Lets init go on (it runs the program) and answers berthd "started", or "failed" with init's step.
bool release_init(Launched* out);
// Reads fd 3 until a full line (what follows it stays in buf); false on EOF or an error (berthd gave up).
bool read_line(std::string* buf, std::string* line);
// Runs until init has exited and its output is drained; returns the monitor's exit status.
int run_event_loop(Launched* l);

}  // namespace berth
