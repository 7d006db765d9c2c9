// A growable byte buffer whose free space is handed out uninitialised: the log writer reserves the
// worst case of an entry (6 bytes per input byte), writes through a pointer and keeps what it used.
// std::string would zero the reserve first, which costs more than the escaping.
#pragma once

#include <stddef.h>
#include <string.h>

#include <memory>

namespace berth {

class ByteBuffer {
 public:
  // Room for n more bytes at the end; write there, then commit the end pointer.
  char* room(size_t n) {
    if (size_ + n > cap_) {
      size_t cap = cap_ ? cap_ : 4096;
      while (cap < size_ + n) cap *= 2;
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (size_) memcpy(bigger.get(), data_.get(), size_);
      data_ = std::move(bigger);
      cap_ = cap;
    }
    return data_.get() + size_;
  }
  void commit(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  void append(const char* s, size_t n) { commit(static_cast<char*>(memcpy(room(n), s, n)) + n); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0, cap_ = 0;
};

}  // namespace berth
