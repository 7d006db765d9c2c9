// The container's veth pair (native/README.md, "The container's interface").
#pragma once

#include <sys/types.h>

#include "monitor/spec.h"

namespace berth {

// Makes the pair: i.host_name up on i.bridge, its peer eth0 (i.mac, i.mtu) in the net namespace
// of init_pid. Returns 0 or an errno (EEXIST: a link of that name is left from before).
int create_veth(const SpecInterface& i, pid_t init_pid);

}  // namespace berth
