// exec: start a process in init's namespaces as the monitor's own child (native/README.md,
// "Exec"), carry its stdio over the client's frames, and send its exit frame.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/loop.h"
#include "monitor/plan_builder.h"
#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

namespace {

bool make_pipe(unique_fd* r, unique_fd* w) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  r->reset(p[0]);
  w->reset(p[1]);
  return true;
}

}  // namespace

std::string entry_head(uint64_t seq, uint64_t time_ns) {
  std::string head(16, '\0');
  for (int i = 0; i < 8; i++) {
    head[i] = static_cast<char>((seq >> (56 - 8 * i)) & 0xff);
    head[8 + i] = static_cast<char>((time_ns >> (56 - 8 * i)) & 0xff);
  }
  return head;
}

std::string start_exec(Loop& loop, Client& c, const std::string& json) {
  if (loop.reaped) return failed_message("setns", ESRCH);
  ExecSpec spec;
  std::string why;
  if (!parse_exec_spec(json, &spec, &why)) return failed_message("read spec", EINVAL, why);
  ExecStorage st;
  build_exec_plan(spec, &st);
  ExecPlan& p = st.plan;
  // Child ends (c_*) go to the process; ours stay with the session.
  unique_fd err_r, err_w, out_r, c_out, errout_r, c_err, c_in, in_w, master, slave;
  if (!make_pipe(&err_r, &err_w)) return failed_message("pipe", errno);
  if (spec.tty) {
    int m, s;
    if (int err = open_pty(spec.console.rows, spec.console.cols, &m, &s)) return failed_message("pty", err);
    master.reset(m);
    slave.reset(s);
    p.tty_fd = p.stdin_fd = p.stdout_fd = p.stderr_fd = s;
  } else {
    if (!make_pipe(&out_r, &c_out) || !make_pipe(&errout_r, &c_err) || (spec.stdin && !make_pipe(&c_in, &in_w)))
      return failed_message("pipe", errno);
    p.tty_fd = -1;
    p.stdin_fd = c_in.get();  // -1 without stdin: the child opens the container's /dev/null
    p.stdout_fd = c_out.get();
    p.stderr_fd = c_err.get();
  }
  p.pidfd = loop.l->pidfd;
  p.error_fd = err_w.get();
  // The container's capabilities, no_new_privs and seccomp filter bind every process in it; a privileged
  // exec keeps every capability (the copy lives until the fork below).
  p.security = loop.l->security;
  SecurityPlan all_caps;
  if (spec.privileged && p.security) {
    all_caps = *p.security;
    all_caps.capabilities = ~uint64_t{0};
    p.security = &all_caps;
  }
  std::vector<unique_fd> cgroup_files;
  std::vector<int> cgroup_fds;
  for (const std::string& f : spec.cgroup_procs) {
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      return failed_message("cgroup", err, f + ": " + strerror(err));
    }
    cgroup_files.emplace_back(fd);
    cgroup_fds.push_back(fd);
  }
  p.cgroup_fds = cgroup_fds.data();
  p.n_cgroup_fds = cgroup_fds.size();

  // pid_for_children only: the monitor itself stays where it is, its next fork lands inside.
  if (setns(loop.l->pidfd, CLONE_NEWPID) != 0) return failed_message("setns", errno);
  pid_t pid = fork();
  int fork_err = errno;
  if (pid == 0) exec_child_main(p);
  // Back at once, so init's next clone or anything else we fork is not put in there.
  setns(loop.l->own_pidns, CLONE_NEWPID);
  if (pid < 0) return failed_message("fork", fork_err);  // ENOMEM: the pid namespace is dying
  err_w.reset();
  c_out.reset();
  c_err.reset();
  c_in.reset();
  slave.reset();
  // The child runs only quick syscalls until execve; EOF means execve succeeded (CLOEXEC).
  StepError rec = {};
  if (read_full(err_r.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) {
    waitpid(pid, nullptr, 0);  // it _exit(127)s right after the record
    return failed_message(exec_step_name(rec.step), rec.error);
  }

  loop.execs.emplace_back();
  ExecSession& s = loop.execs.back();
  s.client_id = c.id;
  s.pid = pid;
  s.has_stdin = spec.stdin;
  if (spec.tty) {
    s.out_fd = fcntl(master.get(), F_DUPFD_CLOEXEC, 0);
    if (spec.stdin) s.sink.reset(fcntl(master.get(), F_DUPFD_CLOEXEC, 0), true);
    s.master = master.release();
  } else {
    fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    fcntl(errout_r.get(), F_SETFL, O_NONBLOCK);
    s.out_fd = out_r.release();
    s.err_fd = errout_r.release();
    if (spec.stdin) s.sink.reset(in_w.release(), false);
  }
  loop.clients.make_stream(c, ClientMode::kExec);
  c.exec = &s;
  return "{\"type\":\"exec-started\",\"pid\":" + std::to_string(pid) + "}\n";
}

void read_exec_output(Loop& loop, ExecSession& s, int* fd, uint8_t frame_type) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // EOF, or EIO from a master whose slave is closed everywhere
      close(*fd);
      *fd = -1;
      return;
    }
    Client* c = loop.clients.find(s.client_id);
    if (!c) continue;  // the client went away: the process runs on, its output is dropped
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec);
    // seq 0: an exec's output is not in the container's log.
    loop.clients.send_frame(*c, frame_type, entry_head(0, ns), buf, static_cast<size_t>(n));
  }
}

bool exec_reaped(Loop& loop, pid_t pid, int status) {
  for (ExecSession& s : loop.execs) {
    if (s.pid != pid) continue;
    s.reaped = true;
    clock_gettime(CLOCK_MONOTONIC, &s.reaped_at);
    if (WIFSIGNALED(status)) {
      s.exit_signal = WTERMSIG(status);
      s.exit_code = 128 + s.exit_signal;
    } else {
      s.exit_code = WEXITSTATUS(status);
    }
    return true;
  }
  return false;
}

void finish_execs(Loop& loop) {
  for (auto it = loop.execs.begin(); it != loop.execs.end();) {
    ExecSession& s = *it;
    bool drained = s.out_fd < 0 && s.err_fd < 0;
    if (!s.reaped || (!drained && drain_left_ms(s.reaped_at) > 0)) {
      ++it;
      continue;
    }
    for (int fd : {s.out_fd, s.err_fd, s.master})
      if (fd >= 0) close(fd);
    s.sink.close_now();
    if (Client* c = loop.clients.find(s.client_id)) {
      std::string body = exit_body(s.exit_code, s.exit_signal);
      loop.clients.send_frame(*c, kFrameExit, "", body.data(), body.size());
      c->exec = nullptr;
      loop.clients.close_after_flush(*c);
    }
    it = loop.execs.erase(it);
  }
}

int exec_timeout_ms(const Loop& loop) {
  int best = -1;
  for (const ExecSession& s : loop.execs) {
    if (!s.reaped) continue;
    int left = drain_left_ms(s.reaped_at);
    if (best < 0 || left < best) best = left;
  }
  return best;
}

}  // namespace berth
