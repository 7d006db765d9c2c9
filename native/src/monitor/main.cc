// berth-monitor <container-dir>: one per running container (native/README.md, "The monitor").
// main() reads spec.json, daemonizes, launches init and runs the event loop. berth-monitor --standby
// daemonizes first and then waits for the container's directory on fd 3: berthd keeps one started
// ahead, so a start does not wait for the exec and the fork. berth-monitor --zygote (zygote.cc)
// forks either kind on berthd's request, so that berthd itself spawns no process per container.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/json_escape.h"
#include "monitor/monitor.h"
#include "sys/errno_name.h"
#include "sys/fs_util.h"
#include "sys/unique_fd.h"

namespace berth {

std::string failed_message(const std::string& step, int err, const std::string& detail) {
  std::string out = "{\"type\":\"failed\",\"step\":";
  append_json_string(&out, step);
  out += ",\"errno\":" + std::to_string(err) + ",\"code\":\"" + errno_name(err) + "\",\"message\":";
  append_json_string(&out, step + ": " + (detail.empty() ? strerror(err) : detail));
  return out + "}\n";
}

void send_handshake(const std::string& line) { write_all(kHandshakeFd, line.data(), line.size()); }

namespace {

bool read_file(const char* path, std::string* out, int* err) {
  unique_fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) {
    *err = errno;
    return false;
  }
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = errno;
      return false;
    }
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace
}  // namespace berth

namespace berth {

int monitor_main(const std::string& arg, bool detached) {
  std::string dir = arg;
  std::string fd3_rest;  // what berthd sent behind the directory's line (nothing, before created)
  const bool standby = dir == "--standby";
  int fresh_netns = -1;
  if (standby) {
    daemonize(detached);
    // Named apart while it waits (ps, and berthd's tests): a monitor with no container yet.
    prctl(PR_SET_NAME, "berth-standby", 0, 0, 0);
    fresh_netns = make_fresh_netns();
    // EOF: berthd stopped and never needed us.
    if (!read_line(&fd3_rest, &dir)) return 0;
    prctl(PR_SET_NAME, "berth-monitor", 0, 0, 0);
  }
  // Everything afterwards is relative to the container dir (monitor.sock, exit).
  if (chdir(dir.c_str()) != 0) {
    send_handshake(failed_message("open container dir", errno));
    return 1;
  }
  std::string text;
  int err = 0;
  if (!read_file("spec.json", &text, &err)) {
    send_handshake(failed_message("read spec", err));
    return 1;
  }
  static Spec spec;  // static: the plan points into it for the whole run
  static PlanStorage storage;
  std::string why;
  if (!parse_spec(text, &spec, &why)) {
    send_handshake(failed_message("read spec", EINVAL, why));
    return 1;
  }
  // Read here, before clone: init drops every capability up to it and must not open files for that.
  int cap_last_cap = 0;
  if (spec.security && (err = read_cap_last_cap(&cap_last_cap))) {
    send_handshake(failed_message("read cap_last_cap", err));
    return 1;
  }
  if (!build_plan(spec, cap_last_cap, &storage, &why)) {
    send_handshake(failed_message("read spec", EINVAL, why));
    return 1;
  }
  if (!standby) daemonize(detached);
  Launched launched;
  launched.spec = &spec;
  launched.fd3_rest = fd3_rest;
  launched.fresh_netns = fresh_netns;
  if (!launch(spec, &storage, &launched)) return 1;
  return run_event_loop(&launched);
}

}  // namespace berth

int main(int argc, char** argv) {
  using namespace berth;
  if (argc != 2) {
    fprintf(stderr, "usage: berth-monitor <container-dir> | berth-monitor --standby | berth-monitor --zygote\n");
    return 2;
  }
  // A client that disconnects must cost an EPIPE, not the monitor.
  signal(SIGPIPE, SIG_IGN);
  // Fixed umask: the log's 0640 and the exit file's 0644 must not depend on berthd's.
  umask(022);
  if (strcmp(argv[1], "--zygote") == 0) return run_zygote();
  return monitor_main(argv[1], false);
}
