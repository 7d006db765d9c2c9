// js_release_memory: gives back to the system, at once, what berthd's heaps hold without using. After an image
// ingest, V8's old space still holds the garbage of everything since its last full collection (much of the
// daemon's start-up among it), and glibc's main arena the pages of the ingest's freed 256 KiB buffers: once one
// such buffer was mmapped and freed, glibc's dynamic threshold puts the next ones in the arena, whose free pages
// below a live chunk are never returned by free(). V8's memory reducer gives its part back only after some idle
// seconds, and not always; nothing gives back glibc's.
//
// The addon's one V8 call: N-API cannot ask for a collection. LowMemoryNotification runs memory-reducing full
// collections (compacting, shrinking the young generation) until they free nothing more; it runs on the calling
// thread, the isolate's. malloc_trim(0) then returns the free pages of every arena, not only a heap's top.
#include <v8.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "js/entry_points.h"

namespace berth {

Napi::Value js_release_memory(const Napi::CallbackInfo& info) {
  v8::Isolate::GetCurrent()->LowMemoryNotification();
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return info.Env().Undefined();
}

}  // namespace berth
