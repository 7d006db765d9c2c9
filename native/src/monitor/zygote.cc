// berth-monitor --zygote: berthd starts one, and asks it for each monitor it needs. A request is a
// line on fd 3 (a container's directory, or "--standby") with one end of a new socketpair passed
// along (SCM_RIGHTS); the zygote forks, the child forks once more and leaves, and the grandchild is
// that monitor with the socket as its fd 3, as if berthd had executed `berth-monitor <line>`. A
// posix_spawn of the monitor cost berthd's event loop 0.7 ms per container while it waited for the
// exec, and the exec itself runs glibc's start-up, whose cpuid calls each leave the VM here
// (bench/README.md). A fork of this small, idle process does neither. EOF on fd 3 ends the zygote;
// the monitors it made are on their own by then.
#include <errno.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <string>

#include "monitor/monitor.h"

namespace berth {

namespace {

constexpr int kMaxFdsPerRead = 16;

// The grandchild is the monitor: reparented away from us at once, so we never reap or outlive it.
void fork_monitor(const std::string& arg, int fd) {
  pid_t pid = fork();
  if (pid < 0) return;  // berthd sees its end close and starts a monitor itself
  if (pid == 0) {
    pid_t grandchild = fork();
    if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);
    // Its own socket becomes fd 3 (the zygote's own fd 3 goes), and nothing else of ours stays open:
    // neither the zygote's socket nor another request's.
    if (dup2(fd, kHandshakeFd) < 0) _exit(1);
    syscall(SYS_close_range, 4U, ~0U, 0U);
    _exit(monitor_main(arg, true));
  }
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

int run_zygote() {
  daemonize_zygote();
  std::string buf;
  std::deque<int> fds;  // received in the order of the lines they came with
  for (;;) {
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)];
    iovec iov = {data, sizeof data};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(kHandshakeFd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // berthd is gone (or closed us)
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* received = reinterpret_cast<const int*>(CMSG_DATA(c));
      for (size_t i = 0; i < count; i++) fds.push_back(received[i]);
    }
    buf.append(data, static_cast<size_t>(n));
    for (size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (fds.empty()) continue;  // a request without its socket has no one to answer
      int fd = fds.front();
      fds.pop_front();
      fork_monitor(line, fd);
      close(fd);
    }
  }
}

}  // namespace berth
