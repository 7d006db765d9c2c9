// Init's steps after pivot_root: names, loopback, session, stdio, cwd, and the credentials.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child/steps.h"
#include "sys/fs_util.h"

namespace berth {

int set_hostname(const char* name) {
  if (!*name) return 0;
  return sethostname(name, strlen(name)) == 0 ? 0 : errno;
}

int set_domainname(const char* name) {
  if (!*name) return 0;
  return setdomainname(name, strlen(name)) == 0 ? 0 : errno;
}

int loopback_up() {
  // A new net namespace has lo, but down; bringing it up needs no netlink, one ioctl will do.
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct ifreq ifr = {};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int err = 0;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
  } else {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  }
  close(fd);
  return err;
}

int configure_interface(const InterfacePlan& i) {
  // Plain ioctls, as for lo: the monitor moved eth0 in here before go, with its MAC and MTU set.
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  struct ifreq ifr = {};
  strncpy(ifr.ifr_name, "eth0", IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<struct sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  int err = 0;
  sin->sin_addr.s_addr = i.address;
  if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) err = errno;
  // After the address: setting the netmask also sets the broadcast address from both.
  sin->sin_addr.s_addr = i.netmask;
  if (!err && ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) err = errno;
  if (!err && ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) err = errno;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  struct rtentry rt = {};
  auto* dst = reinterpret_cast<struct sockaddr_in*>(&rt.rt_dst);
  auto* gw = reinterpret_cast<struct sockaddr_in*>(&rt.rt_gateway);
  auto* mask = reinterpret_cast<struct sockaddr_in*>(&rt.rt_genmask);
  dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
  gw->sin_addr.s_addr = i.gateway;
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  if (!err && ioctl(fd, SIOCADDRT, &rt) != 0) err = errno;
  close(fd);
  return err;
}

int new_session(int tty_fd) {
  if (setsid() < 0) return errno;
  // A session leader without a controlling terminal acquires this one (tty_ioctl(4)).
  if (tty_fd >= 0 && ioctl(tty_fd, TIOCSCTTY, 0) != 0) return errno;
  return 0;
}

int setup_stdio(int stdin_fd, int stdout_fd, int stderr_fd) {
  int null_fd = -1;
  if (stdin_fd < 0) {
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (null_fd < 0) return errno;
  }
  // dup2 clears CLOEXEC on the new descriptor, so 0-2 survive execve and nothing else does.
  int err = 0;
  if (dup2(stdin_fd >= 0 ? stdin_fd : null_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 ||
      dup2(stderr_fd, 2) < 0)
    err = errno;
  if (null_fd >= 0) close(null_fd);
  return err;
}

int make_cwd(const char* cwd) { return mkdir_p(cwd, 0755); }

int enter_cwd(const char* cwd) { return chdir(cwd) == 0 ? 0 : errno; }

int set_groups(const gid_t* groups, size_t n) {
  return setgroups(n, groups) == 0 ? 0 : errno;
}

int set_gid(gid_t gid) { return setgid(gid) == 0 ? 0 : errno; }

int set_uid(uid_t uid) { return setuid(uid) == 0 ? 0 : errno; }

}  // namespace berth
