// The container's veth pair, made by the monitor right after "created": one rtnetlink request makes
// the host end, on the bridge and up, and the peer, born as eth0 in init's net namespace with its MAC
// and MTU; a second sets the host end's hairpin mode. Init gives eth0 its address and route
// (child/identity.cc). Without the `ip` processes berthd ran before, a bridge start is two process
// starts and about 5 ms shorter.
#include "monitor/veth.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys/unique_fd.h"

namespace berth {

namespace {

// A netlink message built in place: attributes appended, nests closed by length.
class Message {
 public:
  Message(uint16_t type, uint16_t flags) {
    header()->nlmsg_type = type;
    header()->nlmsg_flags = flags;
    header()->nlmsg_len = NLMSG_LENGTH(0);
  }

  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_); }
  size_t size() const { return reinterpret_cast<const nlmsghdr*>(buf_)->nlmsg_len; }
  bool overflowed() const { return overflow_; }

  // Raw bytes at the end, padded to NLMSG_ALIGNTO (an ifinfomsg).
  void* put(const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    if (at + NLMSG_ALIGN(len) > sizeof buf_) {
      overflow_ = true;
      return buf_;
    }
    memcpy(buf_ + at, data, len);
    header()->nlmsg_len = static_cast<uint32_t>(at + NLMSG_ALIGN(len));
    return buf_ + at;
  }

  void attr(uint16_t type, const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    if (at + RTA_SPACE(len) > sizeof buf_) {
      overflow_ = true;
      return;
    }
    auto* rta = reinterpret_cast<rtattr*>(buf_ + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    if (len > 0) memcpy(RTA_DATA(rta), data, len);
    header()->nlmsg_len = static_cast<uint32_t>(at + RTA_SPACE(len));
  }
  void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }

  // Opens a nested attribute; close_nest(offset) sets its length to cover what came after.
  size_t open_nest(uint16_t type) {
    size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    attr(type, nullptr, 0);
    return at;
  }
  void close_nest(size_t at) {
    if (overflow_) return;
    reinterpret_cast<rtattr*>(buf_ + at)->rta_len = static_cast<uint16_t>(header()->nlmsg_len - at);
  }

 private:
  alignas(nlmsghdr) unsigned char buf_[1024] = {};
  bool overflow_ = false;
};

// Sends one request and reads its acknowledgement: 0, or the kernel's errno.
int transact(Message& msg) {
  if (msg.overflowed()) return EMSGSIZE;
  unique_fd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.ok()) return errno;
  msg.header()->nlmsg_seq = 1;
  struct sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd.get(), msg.header(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return errno;
  alignas(nlmsghdr) unsigned char reply[4096];
  for (;;) {
    ssize_t n = recv(fd.get(), reply, sizeof reply, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != 1 || h->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      return -e->error;  // 0 is the acknowledgement
    }
  }
}

// The bridge port's hairpin mode: a frame may leave through the port it came in by, so a container reaches
// its own published port through a host address (the DNAT turns the packet back to where it came from).
// AF_BRIDGE's setlink reads IFLA_PROTINFO as bridge port attributes only when it is marked nested.
int set_hairpin(const std::string& host_name) {
  unsigned index = if_nametoindex(host_name.c_str());
  if (index == 0) return errno;
  Message msg(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
  struct ifinfomsg port = {};
  port.ifi_family = AF_BRIDGE;
  port.ifi_index = static_cast<int>(index);
  msg.put(&port, sizeof port);
  size_t protinfo = msg.open_nest(IFLA_PROTINFO | NLA_F_NESTED);
  uint8_t on = 1;
  msg.attr(IFLA_BRPORT_MODE, &on, sizeof on);
  msg.close_nest(protinfo);
  return transact(msg);
}

}  // namespace

int create_veth(const SpecInterface& i, pid_t init_pid) {
  unsigned bridge = if_nametoindex(i.bridge.c_str());
  if (bridge == 0) return errno;
  Message msg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg host = {};
  host.ifi_family = AF_UNSPEC;
  // Up as it is made, and on the bridge (rtnl_newlink applies IFLA_MASTER after creating it).
  host.ifi_flags = IFF_UP;
  host.ifi_change = IFF_UP;
  msg.put(&host, sizeof host);
  msg.attr_str(IFLA_IFNAME, i.host_name);
  msg.attr_u32(IFLA_MTU, i.mtu);
  msg.attr_u32(IFLA_MASTER, bridge);
  size_t linkinfo = msg.open_nest(IFLA_LINKINFO);
  msg.attr(IFLA_INFO_KIND, "veth", 4);
  size_t data = msg.open_nest(IFLA_INFO_DATA);
  size_t peer = msg.open_nest(VETH_INFO_PEER);
  struct ifinfomsg peer_info = {};
  peer_info.ifi_family = AF_UNSPEC;
  msg.put(&peer_info, sizeof peer_info);
  msg.attr_str(IFLA_IFNAME, "eth0");
  msg.attr_u32(IFLA_MTU, i.mtu);
  msg.attr(IFLA_ADDRESS, i.mac, sizeof i.mac);
  msg.attr_u32(IFLA_NET_NS_PID, static_cast<uint32_t>(init_pid));
  msg.close_nest(peer);
  msg.close_nest(data);
  msg.close_nest(linkinfo);
  if (int err = transact(msg)) return err;
  return set_hairpin(i.host_name);
}

}  // namespace berth
