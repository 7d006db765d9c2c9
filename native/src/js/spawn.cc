// js_spawn_with_socket, js_send_with_socket and js_reap_child: starting a monitor without Node's
// child_process. libuv forks berthd to spawn, copying the page tables of a ~90 MiB process (about 10 ms of
// the event loop per start); glibc's posix_spawn uses clone(CLONE_VM | CLONE_VFORK) and copies nothing.
// berthd spawns one monitor this way, the zygote, and asks it for the others (js_send_with_socket).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "js/entry_points.h"
#include "js/errors.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace berth {

namespace {

// The child's fd 3 is the socket's other end: dup2 onto 3 clears CLOEXEC, unless the end already is 3,
// where dup2 does nothing. Move it out of the way first.
int end_not_three(int fd) {
  if (fd != 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  int err = errno;
  close(fd);
  errno = err;
  return moved;
}

// The program and its argv from JS: (path, [argv0, ...]); argv keeps pointers into args.
struct Command {
  std::string path;
  std::vector<std::string> args;
  std::vector<char*> argv;
};

void read_command(const Napi::CallbackInfo& info, const std::string& usage, Command* cmd) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsArray()) throw_usage(env, usage, "a path and argv (an array of strings) are required");
  cmd->path = get_string(info[0], "path", usage);
  Napi::Array list = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) cmd->args.push_back(get_string(list.Get(i), "argv[i]", usage));
  if (cmd->args.empty()) throw_usage(env, usage, "argv must hold at least argv[0]");
  for (std::string& a : cmd->args) cmd->argv.push_back(a.data());
  cmd->argv.push_back(nullptr);
}

// posix_spawn's file actions and attributes, freed with the scope. Every child starts with no blocked
// signal and every disposition at its default (Node ignores SIGPIPE); `extra_flags` adds e.g. SETSID.
class SpawnSetup {
 public:
  explicit SpawnSetup(short extra_flags) {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extra_flags));
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
};

}  // namespace

Napi::Value js_spawn_with_socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Command cmd;
  read_command(info, "spawnWithSocket(path, argv) -> { pid, fd }", &cmd);
  const char* path = cmd.path.c_str();

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_system_error(env, errno, "socketpair", path);
  unique_fd ours(sv[0]);
  unique_fd theirs(end_not_three(sv[1]));
  if (!theirs.ok()) throw_system_error(env, errno, "fcntl", path);

  // A session of its own, as child_process's detached. stdin and stdout /dev/null, stderr berthd's own
  // (the monitor's early errors land in its log), fd 3 the socket.
  SpawnSetup setup(POSIX_SPAWN_SETSID);
  posix_spawn_file_actions_addopen(&setup.fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.fa, theirs.get(), 3);
  pid_t pid;
  if (int err = posix_spawn(&pid, path, &setup.fa, &setup.attr, cmd.argv.data(), environ))
    throw_system_error(env, err, "posix_spawn", path);

  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("fd", Napi::Number::New(env, ours.release()));
  return out;
}

Napi::Value js_spawn_piped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Command cmd;
  read_command(info, "spawnPiped(file, argv) -> { pid, stdout, stderr }", &cmd);
  const char* file = cmd.path.c_str();

  int out[2], err_pipe[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw_system_error(env, errno, "pipe2", file);
  unique_fd out_r(out[0]), out_w(out[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw_system_error(env, errno, "pipe2", file);
  unique_fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  SpawnSetup setup(0);
  posix_spawn_file_actions_addopen(&setup.fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.fa, err_w.get(), 2);
  pid_t pid;
  // posix_spawnp: a name without "/" is looked up in PATH, as execFile does.
  if (int err = posix_spawnp(&pid, file, &setup.fa, &setup.attr, cmd.argv.data(), environ))
    throw_system_error(env, err, "posix_spawn", file);

  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, pid));
  result.Set("stdout", Napi::Number::New(env, out_r.release()));
  result.Set("stderr", Napi::Number::New(env, err_r.release()));
  return result;
}

// For the zygote (native/src/monitor/zygote.cc): the line, and with it one end of a new socketpair, go
// on fd in one sendmsg; the other end comes back. EPIPE when nobody reads fd any more.
Napi::Value js_send_with_socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "sendWithSocket(fd, line) -> fd";
  if (info.Length() < 2 || !info[0].IsNumber()) throw_usage(env, usage, "fd (a number) and a line are required");
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string line = get_string(info[1], "line", usage);
  if (line.empty() || line.find('\n') != std::string::npos) throw_usage(env, usage, "line must be non-empty, without a newline");
  line += '\n';
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw_system_error(env, errno, "socketpair", nullptr);
  unique_fd ours(sv[0]);
  unique_fd theirs(sv[1]);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov = {line.data(), line.size()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int passed = theirs.get();
  memcpy(CMSG_DATA(c), &passed, sizeof passed);
  ssize_t n;
  while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n < 0) throw_system_error(env, errno, "sendmsg", nullptr);
  // The socket went with the first byte; a short write's rest follows on its own.
  for (size_t sent = static_cast<size_t>(n); sent < line.size();) {
    ssize_t m = send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) throw_system_error(env, errno, "send", nullptr);
    sent += static_cast<size_t>(m);
  }
  return Napi::Number::New(env, ours.release());
}

Napi::Value js_reap_child(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string usage = "reapChild(pid) -> { exitCode, signal } | null";
  if (info.Length() < 1 || !info[0].IsNumber()) throw_usage(env, usage, "pid (a number) is required");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  if (pid <= 0) throw_usage(env, usage, "pid must be positive");
  int status = 0;
  pid_t got = waitpid(pid, &status, WNOHANG);
  if (got < 0 && errno != ECHILD) throw_system_error(env, errno, "waitpid", nullptr);
  if (got == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  // ECHILD: not ours, or reaped already: nothing is left to wait for, and its status is unknown (-1).
  out.Set("exitCode", Napi::Number::New(env, got < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  out.Set("signal", Napi::Number::New(env, got > 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  return out;
}

}  // namespace berth
