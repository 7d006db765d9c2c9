// errno -> symbolic name ("ENOENT"), shared by the addon and the monitor so both
// report the same `code` strings.
#pragma once

namespace berth {

// Never returns null: unknown numbers give "UNKNOWN" (what Node uses), never "E<n>".
const char* errno_name(int err);

}  // namespace berth
