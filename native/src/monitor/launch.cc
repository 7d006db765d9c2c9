// launch(): open the log and monitor.sock, create the pipes, clone init into its namespaces,
// and run the fd 3 handshake: created -> (berthd: cgroup, network) -> go. release_init() then lets
// init go on and answers started|failed.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "monitor/veth.h"
#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

namespace {

constexpr size_t kStackSize = 1 << 20;
constexpr int kCloneFlags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;

// Clones init into its net namespace: a new one (spec.netns empty: the standby's fresh one if there is
// one, else clone makes it), the host's, or the one the path spec.netns names. A namespace to join is
// joined by the monitor for the clone only (init inherits it) and left at once: nothing else of the
// monitor runs in there.
pid_t clone_init(const Spec& spec, int fresh_netns, void* stack_top, InitPlan* plan, const char** step, int* err) {
  const bool new_netns = spec.netns.empty();
  if (spec.netns == "host" || (new_netns && fresh_netns < 0)) {
    pid_t pid = clone(init_main, stack_top, kCloneFlags | (new_netns ? CLONE_NEWNET : 0), plan);
    if (pid < 0) *step = "clone", *err = errno;
    return pid;
  }
  unique_fd own(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  unique_fd named(new_netns ? -1 : open(spec.netns.c_str(), O_RDONLY | O_CLOEXEC));
  const int target = new_netns ? fresh_netns : named.get();
  if (!own.ok() || target < 0) return *step = "open net namespace", *err = errno, -1;
  if (setns(target, CLONE_NEWNET) != 0) return *step = "setns net", *err = errno, -1;
  pid_t pid = clone(init_main, stack_top, kCloneFlags, plan);
  int clone_err = errno;
  // Back home before anything else; failing that, the monitor must not go on in a foreign namespace.
  if (setns(own.get(), CLONE_NEWNET) != 0) {
    if (pid > 0) kill(pid, SIGKILL);
    _exit(125);
  }
  if (pid < 0) *step = "clone", *err = clone_err;
  return pid;
}

// Relative bind: the cwd is the container dir, so sun_path's 108 bytes never limit its depth.
int listen_socket(int* out) {
  unique_fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.ok()) return errno;
  unlink(kSocketName);  // a stale socket from a previous run
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, kSocketName);
  // umask during bind so the socket is never briefly reachable by others; chmod pins 0600.
  mode_t old = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || chmod(kSocketName, 0600) != 0 || listen(fd.get(), 16) != 0) return errno;
  *out = fd.release();
  return 0;
}

}  // namespace

bool read_line(std::string* buf, std::string* line) {
  for (;;) {
    size_t nl = buf->find('\n');
    if (nl != std::string::npos) {
      *line = buf->substr(0, nl);
      buf->erase(0, nl + 1);
      return true;
    }
    char tmp[512];
    ssize_t n = read(kHandshakeFd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
  }
}

namespace {

// pid into every cgroup.procs file: 0, or the errno and the file that refused it.
int join_cgroups(const std::vector<std::string>& files, pid_t pid, std::string* failed) {
  const std::string text = std::to_string(pid);
  for (const std::string& f : files) {
    unique_fd fd(open(f.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.ok() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      *failed = f;
      return errno ? errno : EIO;
    }
  }
  return 0;
}

bool fail_before_clone(const char* step, int err) {
  send_handshake(failed_message(step, err));
  return false;
}

}  // namespace

int make_fresh_netns() {
  unique_fd own(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own.ok() || unshare(CLONE_NEWNET) != 0) return -1;
  int fresh = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  // Back home before anything else: the veth is made, and clients served, from the host's namespace.
  if (setns(own.get(), CLONE_NEWNET) != 0) _exit(125);
  return fresh;
}

bool launch(const Spec& spec, PlanStorage* st, Launched* out) {
  out->log_fd = open(spec.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (out->log_fd < 0) return fail_before_clone("open log", errno);
  if (int err = listen_socket(&out->listener)) return fail_before_clone("listen", err);

  // All CLOEXEC: init dup2()s the write ends it needs onto 0, 1 and 2.
  int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, syncp[2], errorp[2];
  if (pipe2(syncp, O_CLOEXEC) || pipe2(errorp, O_CLOEXEC)) return fail_before_clone("pipe", errno);
  InitPlan& plan = st->plan;
  out->security = plan.security;
  plan.sync_fd = syncp[0];
  plan.error_fd = errorp[1];
  plan.tty_fd = -1;
  plan.stdin_fd = -1;
  int slave = -1;
  if (spec.tty) {
    // One pty for all three; there is no separate stderr stream (as docker run -t).
    if (int err = open_pty(spec.console.rows, spec.console.cols, &out->master, &slave))
      return fail_before_clone("pty", err);
    plan.tty_fd = plan.stdin_fd = plan.stdout_fd = plan.stderr_fd = slave;
    out->stdout_fd = fcntl(out->master, F_DUPFD_CLOEXEC, 0);
    if (spec.open_stdin) out->stdin_fd = fcntl(out->master, F_DUPFD_CLOEXEC, 0);
  } else {
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || (spec.open_stdin && pipe2(inp, O_CLOEXEC)))
      return fail_before_clone("pipe", errno);
    plan.stdout_fd = outp[1];
    plan.stderr_fd = errp[1];
    plan.stdin_fd = inp[0];
    // Our ends are non-blocking: the event loop reads and writes them until EAGAIN. A 1 MiB
    // pipe lets a fast writer run on while we write the log (best effort: the default also works).
    fcntl(outp[0], F_SETPIPE_SZ, 1 << 20);
    fcntl(errp[0], F_SETPIPE_SZ, 1 << 20);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    out->stdout_fd = outp[0];
    out->stderr_fd = errp[0];
    out->stdin_fd = inp[1];
  }
  // Saved now, while we are surely in it: exec returns here after forking into init's.
  out->own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (out->own_pidns < 0) return fail_before_clone("open pid namespace", errno);

  // Block SIGCHLD before clone so an early exit of init is queued for the signalfd, not lost.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  out->signal_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (out->signal_fd < 0) return fail_before_clone("signalfd", errno);

  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return fail_before_clone("clone", errno);
  // No CLONE_VM: init gets a copy of our memory, so plan pointers stay valid in it (fork-like).
  const char* clone_step = nullptr;
  int clone_err = 0;
  pid_t pid = clone_init(spec, out->fresh_netns, static_cast<char*>(stack) + kStackSize, &plan, &clone_step, &clone_err);
  // Init holds it now, or it was not needed (the host's or a named namespace).
  if (out->fresh_netns >= 0) close(out->fresh_netns);
  out->fresh_netns = -1;
  if (pid < 0) return fail_before_clone(clone_step, clone_err);
  munmap(stack, kStackSize);
  out->init = pid;
  // Our child and not yet reaped, so the pid cannot have been reused: the pidfd names init.
  out->pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  close(syncp[0]);
  close(errorp[1]);
  // Only init may hold the child ends: EOF (EIO on a master) must mean init's side is gone.
  for (int fd : {outp[1], errp[1], inp[0], slave})
    if (fd >= 0) close(fd);

  send_handshake("{\"type\":\"created\",\"pid\":" + std::to_string(pid) +
                 ",\"monitorPid\":" + std::to_string(getpid()) + "}\n");
  // Held until the exit is reported (run_event_loop). The last reference to a mount namespace unmounts
  // all of it and waits for an RCU grace period, in the exit of whoever drops it: in init's, it came
  // between the program's end and our SIGCHLD, 0.17 ms of every run (twelfth round). Init is stopped
  // before go, so its namespace is the one it was cloned with.
  // Not snprintf: its code is pages of the monitor's RSS that nothing else touches (68 KiB more).
  const std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/mnt";
  out->mnt_ns = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  // Init goes into its cgroups and its veth is made while berthd does its part of the wiring (none of
  // them needs another); a failure is the answer to go, and init never runs.
  std::string cgroup_file;
  int cgroup_err = join_cgroups(spec.cgroup_procs, pid, &cgroup_file);
  int veth_err = !cgroup_err && spec.iface ? create_veth(*spec.iface, pid) : 0;
  std::string line;
  bool go = false;
  while (!go && read_line(&out->fd3_rest, &line)) {
    if (line == "go") go = true;
    else send_handshake("{\"type\":\"error\",\"message\":\"not started: only go is accepted\"}\n");
  }
  if (!go || cgroup_err || veth_err) {
    // berthd went away before go, or the cgroups or the veth failed: nothing ran yet, so the half-made
    // container just goes (its namespace takes the veth's peer along, if it was made).
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    unlink(kSocketName);
    if (go && cgroup_err) send_handshake(failed_message("cgroup", cgroup_err, cgroup_file + ": " + strerror(cgroup_err)));
    else if (go) send_handshake(failed_message("create veth " + spec.iface->host_name, veth_err));
    return false;
  }

  out->go_fd = syncp[1];
  out->error_fd = errorp[0];
  out->step_names = &st->step_names;
  return true;
}

bool release_init(Launched* out) {
  char one = 1;
  // EPIPE when init already failed one of its steps before go: its record then says which.
  int werr = write_all(out->go_fd, &one, 1);
  close(out->go_fd);
  StepError rec = {};
  ssize_t n = read_full(out->error_fd, &rec, sizeof rec);
  close(out->error_fd);
  out->go_fd = out->error_fd = -1;
  bool recorded = n == static_cast<ssize_t>(sizeof rec);
  if (werr != 0 || recorded) {
    int step = recorded ? rec.step : 0;
    int err = recorded ? rec.error : werr;
    const std::vector<std::string>& names = *out->step_names;
    const std::string& name = step >= 0 && static_cast<size_t>(step) < names.size() ? names[static_cast<size_t>(step)]
                                                                                     : std::string("unknown step");
    send_handshake(failed_message(name, err));
    waitpid(out->init, nullptr, 0);  // init _exit(127)s right after writing the record
    unlink(kSocketName);
    return false;
  }
  // EOF without a record: execve succeeded (the error pipe was CLOEXEC).
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string nsec = std::to_string(now.tv_nsec);
  out->started_at = std::to_string(now.tv_sec) + "." + std::string(9 - nsec.size(), '0') + nsec;
  send_handshake("{\"type\":\"started\",\"startedAt\":\"" + out->started_at + "\"}\n");
  return true;
}

}  // namespace berth
